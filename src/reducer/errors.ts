// TransitionError: upstream's variants, fields and Display texts
// (reference/state-machine.md §5). `message` is the Display text.
import type { EventKind } from '../codecs/events';
import type { HostState } from '../codecs/scalars';

export const INVARIANT_WRONG_CLOSURE = 'Converged event: current_closure != target_closure';
export const INVARIANT_BEFORE_SOAK_DUE = 'Converged event: converged_at before soak_due_at';
export const INVARIANT_ENFORCE_NOT_PASS = 'Converged event: at least one enforce-mode probe is not Pass';
export type InvariantReason =
  | typeof INVARIANT_WRONG_CLOSURE
  | typeof INVARIANT_BEFORE_SOAK_DUE
  | typeof INVARIANT_ENFORCE_NOT_PASS;

export interface IllegalForState {
  readonly kind: 'IllegalForState';
  readonly from: HostState;
  readonly event: EventKind;
  readonly rolloutId: string;
  readonly hostname: string;
  readonly message: string;
}
export interface SeqRegression {
  readonly kind: 'SeqRegression';
  readonly got: number;
  readonly last: number;
  readonly rolloutId: string;
  readonly hostname: string;
  readonly message: string;
}
export interface Invariant {
  readonly kind: 'Invariant';
  readonly reason: InvariantReason;
  readonly message: string;
}
/** Declared upstream, never produced by current code; kept so consumers can match exhaustively. */
export interface Unimplemented {
  readonly kind: 'Unimplemented';
  readonly from: HostState;
  readonly event: EventKind;
  readonly message: string;
}
export type TransitionError = IllegalForState | SeqRegression | Invariant | Unimplemented;

interface Subject {
  readonly rolloutId: string;
  readonly hostname: string;
  readonly state: HostState;
}

export const illegalForState = (s: Subject, event: EventKind): IllegalForState => ({
  kind: 'IllegalForState',
  from: s.state,
  event,
  rolloutId: s.rolloutId,
  hostname: s.hostname,
  message: `event ${event} not legal from state ${s.state} (rollout ${s.rolloutId}, host ${s.hostname})`,
});

export const seqRegression = (s: Subject, got: number, last: number): SeqRegression => ({
  kind: 'SeqRegression',
  got,
  last,
  rolloutId: s.rolloutId,
  hostname: s.hostname,
  message: `event seq ${got} is not > last_event_seq ${last} (rollout ${s.rolloutId}, host ${s.hostname})`,
});

export const invariant = (reason: InvariantReason): Invariant => ({
  kind: 'Invariant',
  reason,
  message: `invariant violation: ${reason}`,
});

// step(): the per-(rollout, host) state machine that the upstream agent and
// the upstream control plane both run (reference/state-machine.md §6, §7).
// Pure: no I/O, no clock; `now` is accepted for signature parity and unused.
import * as E from 'fp-ts/Either';
import type { Event } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import type { RolloutPolicy } from '../codecs/policy';
import type { HostState } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import { illegalForState, seqRegression } from './errors';
import { fromActivating, fromDeferred } from './transitions/activating';
import { fromFailed } from './transitions/failed';
import { fromPending } from './transitions/pending';
import { fromSoaking } from './transitions/soaking';
import type { StateHandler, StepResult, Transition } from './types';

// Converged and Reverted accept nothing: a new rollout creates a new record.
const terminal: StateHandler = (s, e) => E.left(illegalForState(s, e.kind));

const HANDLERS: Readonly<Record<HostState, StateHandler>> = {
  Pending: fromPending,
  Activating: fromActivating,
  Deferred: fromDeferred,
  Soaking: fromSoaking,
  Converged: terminal,
  Failed: fromFailed,
  Reverted: terminal,
};

/**
 * Apply one event. Right: the next state (with `lastEventSeq = event.seq`) and
 * the effects in upstream's order. Left: the error; the input state stands.
 * Inputs are never mutated.
 */
export function step(state: HostRolloutState, event: Event, policy: RolloutPolicy, _now: Timestamp): StepResult {
  // Runs before the state dispatch: a stale event at a terminal state is a
  // SeqRegression, not IllegalForState. Gaps are allowed.
  if (event.seq <= state.lastEventSeq) return E.left(seqRegression(state, event.seq, state.lastEventSeq));
  const handler = HANDLERS[state.state];
  return E.map((t: Transition): Transition => ({ state: { ...t.state, lastEventSeq: event.seq }, effects: t.effects }))(
    handler(state, event, policy),
  );
}

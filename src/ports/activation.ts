// Changing the running system (reference agent-runtime.md §11). The adapter
// runs the real pipeline; the graph maps outcomes to events (§11.5).
import type { Observable } from 'rxjs';

export interface ActivationIntent {
  readonly rolloutId: string;
  /** Forward: the target closure (store basename). Rollback: the closure to return to. */
  readonly closure: string;
  readonly rollback: boolean;
}

/** Forward pipeline outcomes, upstream's names. */
export type ActivationOutcome =
  | { readonly kind: 'FiredAndPolled'; readonly observedClosure: string }
  | { readonly kind: 'DeferredPendingReboot'; readonly component: string }
  | { readonly kind: 'SignatureMismatch'; readonly closure: string; readonly stderrTail: string }
  | { readonly kind: 'RealiseFailed'; readonly reason: string }
  | { readonly kind: 'SwitchFailed'; readonly phase: string; readonly exitCode?: number }
  | { readonly kind: 'VerifyMismatch'; readonly expected: string; readonly actual: string }
  | { readonly kind: 'PipelineError'; readonly message: string };

export type RollbackOutcome =
  | { readonly kind: 'FiredAndPolled'; readonly revertedTo: string }
  | { readonly kind: 'Failed'; readonly phase: string; readonly exitCode?: number }
  | { readonly kind: 'PipelineError'; readonly message: string };

export interface ActivationPort {
  /** Runs the forward pipeline for `closure`; `channelRef` is the rollout id's ref part. Never errors. */
  activate(closure: string, channelRef: string): Observable<ActivationOutcome>;
  /** Returns the host to `closure` (the recorded last-good closure). Never errors. */
  rollback(closure: string): Observable<RollbackOutcome>;
}

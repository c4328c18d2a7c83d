// Changing the running system (reference agent-runtime.md §11). The adapter
// runs the real pipeline; the graph maps outcomes to events (§11.5).
import type { Observable } from 'rxjs';
import type { RollbackProof, SignedIntent } from '../codecs/intent';
import type { VerifiedDispatch } from './manifests';

/** A switch to `closure`, bound to the signed intent the reducer accepted. */
export interface SwitchIntent {
  readonly rolloutId: string;
  /** The target closure (store basename). */
  readonly closure: string;
  readonly rollback: false;
  readonly signed: SignedIntent;
  /** Fired again after a restart: the earlier switch may have finished or still be running. */
  readonly resumed?: boolean;
  /** Its ActivationStarted was reported before the restart: not reported again. */
  readonly started?: boolean;
}

/** A return to `closure` after `failedTarget` failed. */
export interface RollbackIntent {
  readonly rolloutId: string;
  /** The closure to return to (store basename). */
  readonly closure: string;
  readonly rollback: true;
  readonly failedTarget: string;
  readonly proof: RollbackProof;
}

export type ActivationIntent = SwitchIntent | RollbackIntent;

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

export interface PipelineOptions {
  /**
   * Shutdown. Once the switch runs detached in its own unit, the pipeline
   * stops waiting for it when this emits and completes with no outcome: the
   * switch finishes without the agent (it may be what stopped the agent —
   * NixOS stops a changed unit before activating), and the record, still
   * Activating, is resumed after the restart. Earlier phases finish first.
   */
  readonly leaveRunningOn?: Observable<unknown>;
}

export interface ActivationPort {
  /**
   * Runs the forward pipeline for `verified.targetClosure`, which the worker
   * has just verified against the rollout's signed manifest for this host.
   * The adapter refuses (PipelineError, nothing run) a `closure` or rollout
   * that is not the verified one. `resumed`: a switch fired before a restart
   * is reported if it finished and waited for if it still runs, not fired
   * again. Never errors.
   */
  activate(closure: string, verified: VerifiedDispatch, options?: PipelineOptions & { readonly resumed?: boolean }): Observable<ActivationOutcome>;
  /**
   * Returns the host to `closure`. With proof 'profile-history' the adapter
   * refuses (Failed, nothing run) a closure that is no generation of the
   * system profile; with 'previous-generation' it returns to the newest
   * generation that is not `failedTarget` and reports that closure. Never errors.
   */
  rollback(closure: string, proof: RollbackProof, failedTarget: string, options?: PipelineOptions): Observable<RollbackOutcome>;
}

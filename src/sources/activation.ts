// activation (reference agent-runtime.md §8.6, §11.5): runs the switch and
// rollback pipelines that the applier asks for, strictly one at a time, and
// reports each outcome as a Local event.
//
// Timing rules: intents are serialized (a pipeline can take minutes);
// forward intents report LocalActivationStarted before the pipeline runs;
// outcome timestamps are taken when the pipeline ends (upstream stamps them
// before it starts, reference §18 item 14).
//
// Signed intent, checked again at the moment of firing (the reducer checked
// it when the dispatch arrived, but a switch may be resumed after a restart
// or wait behind another pipeline): a switch runs only if the rollout's
// manifest still verifies, is fresh and names this closure for this machine
// id; a rollback whose target only the CP named ('profile-history') runs only
// if the rollout's manifest verifies for this host. A refusal runs nothing
// and is reported as LocalActivationFailed (the CP sees why), logged as an error.
import { catchError, concat, concatMap, defaultIfEmpty, defer, EMPTY, map, of, take, tap, type Observable } from 'rxjs';
import type { Event } from '../codecs/events';
import type { Timestamp } from '../codecs/timestamp';
import type { ActivationIntent, ActivationOutcome, ActivationPort, RollbackIntent, RollbackOutcome, SwitchIntent } from '../ports/activation';
import { errorMessage } from '../ports/error-text';
import type { ManifestPort, VerifiedDispatch } from '../ports/manifests';
import type { ReducerInput } from '../reducer/agent';
import type { BoundedQueue } from './channels';
import { nowOf, type SourceContext } from './context';

export const SWITCH_METHOD = 'switch-to-configuration';

// A port that completes without an outcome broke its contract; the rollout must still move on.
const NO_OUTCOME = 'pipeline ended without an outcome';

/** Forward outcome → event (reference §11.5); seq is assigned by the reducer. */
export function forwardEvent(outcome: ActivationOutcome, at: Timestamp): Event {
  const failed = (exitCode: number, stderrTail: string): Event => ({ kind: 'LocalActivationFailed', exitCode, stderrTail, failedAt: at, seq: 0 });
  switch (outcome.kind) {
    case 'FiredAndPolled':
      return { kind: 'LocalActivationCompleted', observedCurrentClosure: outcome.observedClosure, exitCode: 0, completedAt: at, seq: 0 };
    case 'DeferredPendingReboot':
      return { kind: 'LocalActivationDeferred', component: outcome.component, deferredAt: at, seq: 0 };
    case 'SignatureMismatch':
      return failed(-2, `signature mismatch on ${outcome.closure}: ${outcome.stderrTail}`);
    case 'RealiseFailed':
      return failed(-1, `realise failed: ${outcome.reason}`);
    case 'SwitchFailed':
      return failed(outcome.exitCode ?? -1, `switch failed at phase ${outcome.phase}`);
    case 'VerifyMismatch':
      return failed(-3, `verify mismatch: expected=${outcome.expected} actual=${outcome.actual}`);
    case 'PipelineError':
      return failed(-1, `activation pipeline error: ${outcome.message}`);
  }
}

/**
 * Rollback outcome → event. A failed rollback maps to LocalActivationFailed as
 * upstream; step() rejects it from Failed, and the reducer logs that loudly.
 */
export function rollbackEvent(outcome: RollbackOutcome, at: Timestamp): Event {
  switch (outcome.kind) {
    case 'FiredAndPolled':
      return { kind: 'LocalRollbackCompleted', revertedToClosure: outcome.revertedTo, exitCode: 0, completedAt: at, seq: 0 };
    case 'Failed':
      return { kind: 'LocalActivationFailed', exitCode: outcome.exitCode ?? -1, stderrTail: `rollback failed at phase ${outcome.phase}`, failedAt: at, seq: 0 };
    case 'PipelineError':
      return { kind: 'LocalActivationFailed', exitCode: -1, stderrTail: `rollback pipeline error: ${outcome.message}`, failedAt: at, seq: 0 };
  }
}

export interface ActivationWorkerDeps {
  readonly port: ActivationPort;
  readonly manifests: ManifestPort;
  readonly machineId: string;
}

const refusedEvent = (reason: string, at: Timestamp): Event => ({ kind: 'LocalActivationFailed', exitCode: -1, stderrTail: `refused: ${reason}`, failedAt: at, seq: 0 });

/** The rollout's signed manifest, verified now for this host and closure; a refusal reason otherwise. */
function reverify(deps: ActivationWorkerDeps, rolloutId: string, closure: string): Observable<{ readonly ok: VerifiedDispatch } | { readonly refused: string }> {
  return defer(() => deps.manifests.ensureForDispatch(rolloutId, deps.machineId, closure)).pipe(
    take(1),
    map((ok) => ({ ok })),
    defaultIfEmpty({ refused: 'manifest check ended without an answer' }),
    catchError((err: unknown) => of({ refused: errorMessage(err) })),
  );
}

/**
 * A pipeline's one outcome as an event. Shutdown does not wait for a switch
 * already running in its own unit: the port stops waiting and completes
 * empty, no event is made, and the record (still Activating, or owing its
 * rollback) is resumed after the restart. An empty completion without
 * shutdown is a broken port and is reported as a pipeline error.
 */
type PipelineError = { readonly kind: 'PipelineError'; readonly message: string };

function outcomeOf<O>(
  ctx: SourceContext,
  rolloutId: string,
  closure: string,
  run: (leaveRunningOn: Observable<unknown>) => Observable<O>,
  toEvent: (outcome: O | PipelineError, at: Timestamp) => Event,
): Observable<Event> {
  return defer(() => {
    let left = false;
    const leave$ = ctx.shutdown$.pipe(
      take(1),
      tap(() => (left = true)),
    );
    return run(leave$).pipe(
      take(1),
      catchError((err: unknown) => of<PipelineError>({ kind: 'PipelineError', message: errorMessage(err) })),
      defaultIfEmpty(undefined),
      concatMap((outcome): Observable<Event> => {
        if (outcome !== undefined) return of(toEvent(outcome, nowOf(ctx.scheduler)));
        if (!left) return of(toEvent({ kind: 'PipelineError', message: NO_OUTCOME }, nowOf(ctx.scheduler)));
        ctx.logger.info('stopping: the switch goes on in its own unit; it is resumed after the restart', { rolloutId, closure });
        return EMPTY;
      }),
    );
  });
}

function runRollback(deps: ActivationWorkerDeps, intent: RollbackIntent, ctx: SourceContext): Observable<Event> {
  const fire = (): Observable<Event> => {
    ctx.logger.info('rolling back', { rolloutId: intent.rolloutId, to: intent.closure, proof: intent.proof });
    return outcomeOf<RollbackOutcome>(ctx, intent.rolloutId, intent.closure, (leaveRunningOn) => deps.port.rollback(intent.closure, intent.proof, intent.failedTarget, { leaveRunningOn }), rollbackEvent);
  };
  // Only a target the CP alone named needs the rollout verified; the others are the host's own.
  if (intent.proof !== 'profile-history') return fire();
  return reverify(deps, intent.rolloutId, intent.failedTarget).pipe(
    concatMap((r) => {
      if ('ok' in r) return fire();
      ctx.logger.error('rollback refused: the control plane named its target and the rollout does not verify for this host', { rolloutId: intent.rolloutId, to: intent.closure, reason: r.refused });
      return of(refusedEvent(`rollback to ${intent.closure}: ${r.refused}`, nowOf(ctx.scheduler)));
    }),
  );
}

function runSwitch(deps: ActivationWorkerDeps, intent: SwitchIntent, ctx: SourceContext): Observable<Event> {
  return reverify(deps, intent.rolloutId, intent.closure).pipe(
    concatMap((r): Observable<Event> => {
      if (!('ok' in r)) {
        ctx.logger.error('switch refused at firing: no fresh signed manifest names this closure for this host', { rolloutId: intent.rolloutId, target: intent.closure, reason: r.refused });
        return of(refusedEvent(r.refused, nowOf(ctx.scheduler)));
      }
      ctx.logger.info('activating', { rolloutId: intent.rolloutId, target: intent.closure });
      // A resumed switch whose start was reported reports only its outcome.
      const started: Observable<Event> = intent.started === true ? EMPTY : defer(() => of<Event>({ kind: 'LocalActivationStarted', startedAt: nowOf(ctx.scheduler), switchMethod: SWITCH_METHOD, seq: 0 }));
      return concat(
        started,
        outcomeOf<ActivationOutcome>(ctx, intent.rolloutId, intent.closure, (leaveRunningOn) => deps.port.activate(intent.closure, r.ok, { resumed: intent.resumed === true, leaveRunningOn }), forwardEvent),
      );
    }),
  );
}

/**
 * After the stop a switch still waiting in the queue is not started: its
 * record stays Activating and the switch is resumed after the restart (a
 * switch fired now would be left running in its own unit while we exit). A
 * queued rollback still runs: the host should not wait on a failed closure
 * for the agent to come back. The stop is the queue's shutdown signal (the
 * graph gives both the same): a watch of its own cost 1.4 kB per agent in
 * npm run bench's fleet row (2026-12-02).
 */
export function activationWorker(deps: ActivationWorkerDeps, intents: BoundedQueue<ActivationIntent>, ctx: SourceContext): Observable<ReducerInput> {
  return intents.consume((intent): Observable<ReducerInput> => {
    if (intents.stopping && !intent.rollback) {
      ctx.logger.info('stopping: a queued switch is not started; it is resumed after the restart', { rolloutId: intent.rolloutId, target: intent.closure });
      return EMPTY;
    }
    return (intent.rollback ? runRollback(deps, intent, ctx) : runSwitch(deps, intent, ctx)).pipe(
      map((event): ReducerInput => ({ kind: 'HostEvent', rolloutId: intent.rolloutId, event })),
    );
  });
}

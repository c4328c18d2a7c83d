// activation (reference agent-runtime.md §8.6, §11.5): runs the switch and
// rollback pipelines that the applier asks for, strictly one at a time, and
// reports each outcome as a Local event.
//
// Timing rules: intents are serialized (a pipeline can take minutes);
// forward intents report LocalActivationStarted before the pipeline runs;
// outcome timestamps are taken when the pipeline ends (upstream stamps them
// before it starts, reference §18 item 14).
import { catchError, concat, defaultIfEmpty, defer, map, of, take, type Observable } from 'rxjs';
import type { Event } from '../codecs/events';
import { rolloutChannelRef } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import type { ActivationIntent, ActivationOutcome, ActivationPort, RollbackOutcome } from '../ports/activation';
import type { ReducerInput } from '../reducer/agent';
import type { BoundedQueue } from './channels';
import { describeError, nowOf, type SourceContext } from './context';

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

function run(port: ActivationPort, intent: ActivationIntent, ctx: SourceContext): Observable<ReducerInput> {
  const input = (event: Event): ReducerInput => ({ kind: 'HostEvent', rolloutId: intent.rolloutId, event });
  if (intent.rollback) {
    ctx.logger.info('rolling back', { rolloutId: intent.rolloutId, to: intent.closure });
    return defer(() => port.rollback(intent.closure)).pipe(
      take(1),
      defaultIfEmpty<RollbackOutcome, RollbackOutcome>({ kind: 'PipelineError', message: NO_OUTCOME }),
      catchError((err: unknown) => of<RollbackOutcome>({ kind: 'PipelineError', message: describeError(err) })),
      map((outcome) => input(rollbackEvent(outcome, nowOf(ctx.scheduler)))),
    );
  }
  ctx.logger.info('activating', { rolloutId: intent.rolloutId, target: intent.closure });
  return concat(
    defer(() => of(input({ kind: 'LocalActivationStarted', startedAt: nowOf(ctx.scheduler), switchMethod: SWITCH_METHOD, seq: 0 }))),
    defer(() => port.activate(intent.closure, rolloutChannelRef(intent.rolloutId))).pipe(
      take(1),
      defaultIfEmpty<ActivationOutcome, ActivationOutcome>({ kind: 'PipelineError', message: NO_OUTCOME }),
      catchError((err: unknown) => of<ActivationOutcome>({ kind: 'PipelineError', message: describeError(err) })),
      map((outcome) => input(forwardEvent(outcome, nowOf(ctx.scheduler)))),
    ),
  );
}

export function activationWorker(port: ActivationPort, intents: BoundedQueue<ActivationIntent>, ctx: SourceContext): Observable<ReducerInput> {
  return intents.consume((intent) => run(port, intent, ctx));
}

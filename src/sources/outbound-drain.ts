// outbound (reference agent-runtime.md §8.5): sends the durable queue to the
// CP in order and deletes each event only after a 2xx. Produces no reducer input.
//
// Timing rules: a pass every 15 s (first at start, so a previous run's
// leftovers go out at once) and on every kick; kicks during a pass collapse
// into one more pass right after it. Each POST is abandoned after 10 s. A
// pass stops at the first event that must be retried (order is kept); a
// poison event (a 4xx that can never succeed) is dead-lettered and the pass
// goes on (upstream blocks on it forever). On shutdown, one last pass
// once everything that could still queue an event has finished.
import { catchError, concat, defer, EMPTY, expand, from, ignoreElements, map, merge, mergeMap, observeOn, of, reduce, take, takeUntil, takeWhile, timeout, timer, type Observable } from 'rxjs';
import { concatMap } from 'rxjs/operators';
import type { ControlPlanePort, DeliveryOutcome } from '../ports/control-plane';
import { deliveryVerdict, type OutboundQueuePort, type QueuedEvent } from '../ports/store';
import { describeError, type SourceContext } from './context';
import { exhaustMapWithTrailing } from './operators';

export const DRAIN_INTERVAL_MS = 15_000;
export const POST_TIMEOUT_MS = 10_000;
// Events per store read. A pass keeps reading batches while every event is
// delivered, so this bounds memory, not throughput.
export const DRAIN_BATCH = 64;

export interface DrainDeps {
  readonly cp: ControlPlanePort;
  readonly queue: OutboundQueuePort;
  readonly kick$: Observable<unknown>;
  /** Called after each acknowledged event (for status and metrics). */
  readonly onDelivered?: (event: QueuedEvent) => void;
  /**
   * When the last pass runs after shutdown; by default at once. The graph
   * passes "every producer has finished", so events from work that was still
   * running at shutdown go out too.
   */
  readonly finalPass$?: Observable<unknown>;
}

type Step = 'next' | 'stop';

function settle(deps: DrainDeps, ctx: SourceContext, ev: QueuedEvent, outcome: DeliveryOutcome): Observable<Step> {
  const fields = { rolloutId: ev.rolloutId, seq: ev.seq, kind: ev.kind };
  const verdict = outcome.kind === 'acked' ? 'ack' : outcome.kind === 'rejected' ? deliveryVerdict(outcome.status) : 'retry';
  switch (verdict) {
    case 'ack':
      return deps.queue.ack(ev.id).pipe(
        map((): Step => {
          ctx.logger.debug('event delivered', fields);
          deps.onDelivered?.(ev);
          return 'next';
        }),
      );
    case 'dead-letter': {
      const reason = outcome.kind === 'rejected' ? `HTTP ${outcome.status}: ${outcome.reason}` : 'rejected';
      ctx.logger.error('control plane refused event for good; moved to dead letters', { ...fields, reason });
      return deps.queue.deadLetter(ev.id, reason).pipe(map((): Step => 'next'));
    }
    case 'retry': {
      const reason = outcome.kind === 'acked' ? '' : outcome.kind === 'rejected' ? `HTTP ${outcome.status}: ${outcome.reason}` : outcome.reason;
      ctx.logger.warn('event not delivered; will retry', { ...fields, reason });
      return of<Step>('stop');
    }
  }
}

/** One batch: deliver in order until one must wait. Emits whether a full batch went through. */
function batch(deps: DrainDeps, ctx: SourceContext): Observable<boolean> {
  return defer(() => deps.queue.pending(DRAIN_BATCH)).pipe(
    mergeMap((events) =>
      from(events).pipe(
        concatMap((ev) =>
          defer(() => deps.cp.postEvent(ev.body)).pipe(
            timeout({ first: POST_TIMEOUT_MS, scheduler: ctx.scheduler }),
            catchError((err: unknown) => of<DeliveryOutcome>({ kind: 'retry', reason: describeError(err) })),
            mergeMap((outcome) => settle(deps, ctx, ev, outcome)),
          ),
        ),
        takeWhile((s) => s === 'next'),
        reduce((n) => n + 1, 0),
        map((delivered) => events.length === DRAIN_BATCH && delivered === DRAIN_BATCH),
      ),
    ),
  );
}

function pass(deps: DrainDeps, ctx: SourceContext): Observable<never> {
  return batch(deps, ctx).pipe(
    expand((more) => (more ? batch(deps, ctx) : EMPTY)),
    ignoreElements(),
    catchError((err: unknown) => {
      ctx.logger.error('outbound queue unreadable; drain pass abandoned', { error: describeError(err) });
      return EMPTY;
    }),
  );
}

export function outboundDrain(deps: DrainDeps, ctx: SourceContext, periodMs: number = DRAIN_INTERVAL_MS): Observable<never> {
  // A kick is handled after the turn that queued the event, so the drain
  // never reads a row whose transaction has not committed yet.
  const triggers = merge(timer(0, periodMs, ctx.scheduler), deps.kick$.pipe(observeOn(ctx.scheduler))).pipe(takeUntil(ctx.shutdown$));
  return concat(triggers, (deps.finalPass$ ?? of('final')).pipe(take(1))).pipe(exhaustMapWithTrailing(() => pass(deps, ctx)));
}

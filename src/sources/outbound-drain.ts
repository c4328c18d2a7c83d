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
import { concat, merge, of, take, takeUntil, type Observable } from 'rxjs';
import type { ControlPlanePort, DeliveryOutcome } from '../ports/control-plane';
import { errorMessage } from '../ports/error-text';
import type { OutboundQueuePort, QueuedEvent } from '../ports/store';
import type { SourceContext } from './context';
import { exhaustMapWithTrailing } from './operators';
import { call, runSteps, type Steps } from './steps';
import { afterTurn, every } from './time';

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

/**
 * One pass: batches of DRAIN_BATCH in queue order, each event posted and
 * settled before the next; a batch that went through in full is followed by
 * another. Stops at the first event that must be retried (a transport error,
 * a throw or the 10 s timeout is a retry); a store error abandons the pass.
 * A call that answered nothing moves on to the next event, uncounted.
 */
function* passSteps(deps: DrainDeps, ctx: SourceContext): Steps {
  const postTimeout = { ms: POST_TIMEOUT_MS, scheduler: ctx.scheduler };
  try {
    for (;;) {
      const read = call(deps.queue.pending(DRAIN_BATCH));
      yield read;
      const events = read.answer ?? [];
      let delivered = 0;
      for (const ev of events) {
        const post = call(deps.cp.postEvent(ev.body), postTimeout);
        let outcome: DeliveryOutcome | undefined;
        try {
          yield post;
          outcome = post.answer;
        } catch (err) {
          outcome = { kind: 'retry', reason: errorMessage(err) };
        }
        if (outcome === undefined) continue;
        const fields = { rolloutId: ev.rolloutId, seq: ev.seq, kind: ev.kind };
        if (outcome.kind === 'retry') {
          ctx.logger.warn('event not delivered; will retry', { ...fields, reason: outcome.reason });
          return;
        }
        if (outcome.kind === 'acked') {
          const ack = call(deps.queue.ack(ev.id));
          yield ack;
          if (ack.answer === undefined) continue;
          ctx.logger.debug('event delivered', fields);
          deps.onDelivered?.(ev);
        } else {
          ctx.logger.error('control plane refused event for good; moved to dead letters', { ...fields, reason: outcome.reason });
          const dead = call(deps.queue.deadLetter(ev.id, outcome.reason));
          yield dead;
          if (dead.answer === undefined) continue;
        }
        delivered += 1;
      }
      if (events.length !== DRAIN_BATCH || delivered !== DRAIN_BATCH) return;
    }
  } catch (err) {
    ctx.logger.error('outbound queue unreadable; drain pass abandoned', { error: errorMessage(err) });
  }
}

// Kept hand-written (src/sources/steps.ts): a pass touches every queued
// event, and as an operator chain per event (defer, timeout, take,
// catchError, concatMap, takeWhile, count) the graph bench's rollout ran
// 1.8x slower (2026-12-02).
const pass = (deps: DrainDeps, ctx: SourceContext): Observable<never> => runSteps(() => passSteps(deps, ctx));

export function outboundDrain(deps: DrainDeps, ctx: SourceContext, periodMs: number = DRAIN_INTERVAL_MS): Observable<never> {
  // A kick is handled after the turn that queued the event, so the drain
  // never reads a row whose transaction has not committed yet. Kicks that
  // arrive during a pass collapse into one more pass right after it.
  const triggers = merge(every(ctx, periodMs), deps.kick$.pipe(afterTurn(ctx))).pipe(takeUntil(ctx.shutdown$));
  return concat(triggers, (deps.finalPass$ ?? of('final')).pipe(take(1))).pipe(exhaustMapWithTrailing(() => pass(deps, ctx)));
}

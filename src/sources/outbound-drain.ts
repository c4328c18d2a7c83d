// outbound (reference agent-runtime.md §8.5): sends the durable queue to the
// CP in order and deletes each event only after a 2xx. Produces no reducer input.
//
// Timing rules: a pass every 15 s (first at start, so a previous run's
// leftovers go out at once) and on every kick, in a clock task after the turn
// that kicked; kicks before that task runs collapse into its one pass, and
// kicks during a pass into one more pass right after it. Each POST is abandoned after 10 s. A
// pass stops at the first event that must be retried (order is kept); a
// poison event (a 4xx that can never succeed) is dead-lettered and the pass
// goes on (upstream blocks on it forever). On shutdown, one last pass
// once everything that could still queue an event has finished.
import { Observable, of, Subscription, type SchedulerAction, type Subscriber } from 'rxjs';
import type { ControlPlanePort, DeliveryOutcome } from '../ports/control-plane';
import { errorMessage } from '../ports/error-text';
import type { OutboundQueuePort, QueuedEvent } from '../ports/store';
import type { SourceContext } from './context';
import { call, StepRunner, type Steps, type StepsEnd } from './steps';
import { every } from './time';

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

/** What the drain's log lines say of an event. */
const eventFields = (ev: QueuedEvent) => ({ rolloutId: ev.rolloutId, seq: ev.seq, kind: ev.kind });

/**
 * One pass: batches of DRAIN_BATCH in queue order, each event posted and
 * settled before the next; a batch that went through in full is followed by
 * another. Stops at the first event that must be retried (a transport error,
 * a throw or the 10 s timeout is a retry); a store error abandons the pass.
 * A call that answered nothing moves on to the next event, uncounted.
 *
 * The events the CP acknowledged are removed from the queue together, in one
 * write, once their batch is done or the pass stops: one transaction (one
 * fsync) per pass, where one per event made a burst after an outage cost a
 * synchronous disk write per event (and 0.03 of the graph bench's plumbing
 * ratio in port calls, 0.77 → 0.80, 2026-12-03). A pass cancelled in
 * between (the stop deadline) still removes them, at once; only a crash in
 * between sends them again, which the CP dedupes by (host, rollout, seq).
 */
function* passSteps(deps: DrainDeps, ctx: SourceContext): Steps {
  const postTimeout = { ms: POST_TIMEOUT_MS, scheduler: ctx.scheduler };
  let acked: QueuedEvent[] = [];
  try {
    for (;;) {
      const read = call(deps.queue.pending(DRAIN_BATCH));
      yield read;
      const events = read.answer ?? [];
      let settled = 0;
      let retry = false;
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
        if (outcome.kind === 'retry') {
          ctx.logger.warn('event not delivered; will retry', { ...eventFields(ev), reason: outcome.reason });
          retry = true;
          break;
        }
        if (outcome.kind === 'acked') acked.push(ev);
        else {
          ctx.logger.error('control plane refused event for good; moved to dead letters', { ...eventFields(ev), reason: outcome.reason });
          const dead = call(deps.queue.deadLetter(ev.id, outcome.reason));
          yield dead;
          if (dead.answer === undefined) continue;
        }
        settled += 1;
      }
      if (acked.length > 0) {
        const done = acked;
        acked = [];
        const ack = call(deps.queue.ack(done.map((ev) => ev.id)));
        yield ack;
        if (ack.answer === undefined) settled -= done.length;
        else
          for (const ev of done) {
            ctx.logger.debug('event delivered', eventFields(ev));
            deps.onDelivered?.(ev);
          }
      }
      if (retry || events.length !== DRAIN_BATCH || settled !== DRAIN_BATCH) return;
    }
  } catch (err) {
    ctx.logger.error('outbound queue unreadable; drain pass abandoned', { error: errorMessage(err) });
  } finally {
    // Only when the pass was cancelled with acknowledged events not yet removed.
    if (acked.length > 0) deps.queue.ack(acked.map((ev) => ev.id)).subscribe({ error: () => undefined });
  }
}

// The worker is hand-written: the triggers (the period, kicks after the
// turn, the final pass), the exhaust-with-trailing and the pass runner in one
// object. A pass touches every queued event, and as an operator chain per
// event (defer, timeout, take, catchError, concatMap, takeWhile, count) the
// graph bench's rollout ran 1.8x slower (2026-12-02, hence src/sources/steps.ts);
// the triggers as merge(every, kick$ → observeOn) → takeUntil → concat(final)
// → a hand-written exhaustMap-with-trailing → runSteps made it 1.11x slower
// again (a clock task and a pass per kick, ~1,700 passes per rollout; 2026-12-02).
//
// What it does, in the order those operators did it (port calls and clock
// tasks land in the same order, but for the kicks that share a task):
// - on subscribe: watch shutdown$ first, then the period (a pass at once and
//   every `periodMs`), then kicks; a kick is handled in a clock task, after
//   the turn that queued the event, so the drain never reads a row whose
//   transaction has not committed yet. Kicks while that task waits share it:
//   its pass reads every row committed before it runs (4 probes due together
//   made 4 passes, 3 of them reading an empty queue: 1,576 reads for 1,453
//   events in the graph bench's rollout, 486 now);
// - a trigger while a pass runs is remembered (once): one more pass right after it;
// - at shutdown: the period, kicks and kick tasks not yet run are dropped;
//   the first value of `finalPass$` triggers the last pass; once that is
//   done, the worker completes.
export function outboundDrain(deps: DrainDeps, ctx: SourceContext, periodMs: number = DRAIN_INTERVAL_MS): Observable<never> {
  return new Observable<never>((subscriber) => {
    const drain = new Drain(deps, ctx, subscriber);
    drain.start(periodMs);
    return () => drain.cancel();
  });
}

// A kick's clock task (as observeOn's: the work, then the task unsubscribes itself).
function kickTask(this: SchedulerAction<Drain>, drain?: Drain): void {
  drain?.kickTaskRan();
  this.unsubscribe();
}

class Drain implements StepsEnd {
  /** Triggers before shutdown: the shutdown watch, the period and kicks. */
  private triggers: Subscription | undefined = new Subscription();
  /** The kick task scheduled and not yet run (at most one). */
  private kickTask: Subscription | undefined;
  private final: Subscription | undefined;
  private pass: StepRunner | undefined;
  private trailing = false;
  /** No trigger can come any more: the worker completes after the running pass. */
  private triggersDone = false;

  constructor(
    private readonly deps: DrainDeps,
    private readonly ctx: SourceContext,
    private readonly subscriber: Subscriber<never>,
  ) {}

  get closed(): boolean {
    return this.subscriber.closed;
  }

  start(periodMs: number): void {
    const triggers = this.triggers as Subscription;
    triggers.add(this.ctx.shutdown$.subscribe({ next: () => this.shutdown(), error: (e: unknown) => this.fail(e) }));
    if (this.triggers === undefined) return; // already shut down
    triggers.add(every(this.ctx, periodMs).subscribe(() => this.trigger()));
    if (this.triggers === undefined) return;
    triggers.add(this.deps.kick$.subscribe({ next: () => this.kick(), error: (e: unknown) => this.fail(e) }));
  }

  cancel(): void {
    this.dropTriggers();
    this.final?.unsubscribe();
    this.pass?.cancel();
    this.pass = undefined;
  }

  // StepsEnd: the running pass ended.
  complete(): void {
    this.pass = undefined;
    if (this.trailing) {
      this.trailing = false;
      this.runPass();
    } else if (this.triggersDone) this.subscriber.complete();
  }

  error(err: unknown): void {
    this.fail(err);
  }

  /** @internal A kick task's turn came. */
  kickTaskRan(): void {
    // At most one waits, and a cancelled one never runs: this is it.
    this.kickTask = undefined;
    this.trigger();
  }

  private kick(): void {
    if (this.triggers === undefined || this.kickTask !== undefined) return;
    this.kickTask = this.ctx.scheduler.schedule<Drain>(kickTask, 0, this);
  }

  private trigger(): void {
    if (this.pass !== undefined) this.trailing = true;
    else this.runPass();
  }

  private runPass(): void {
    const pass = new StepRunner(passSteps(this.deps, this.ctx), this);
    this.pass = pass;
    pass.resume();
  }

  private shutdown(): void {
    if (this.triggers === undefined) return;
    this.dropTriggers();
    let taken = false;
    const done = (): void => {
      if (this.triggersDone) return;
      this.triggersDone = true;
      if (this.pass === undefined) this.subscriber.complete();
    };
    this.final = (this.deps.finalPass$ ?? of('final')).subscribe({
      next: () => {
        if (taken) return;
        taken = true;
        this.final?.unsubscribe();
        this.trigger();
        done();
      },
      error: (e: unknown) => this.fail(e),
      complete: done,
    });
    if (taken) this.final.unsubscribe();
  }

  private dropTriggers(): void {
    const triggers = this.triggers;
    this.triggers = undefined;
    triggers?.unsubscribe();
    this.kickTask?.unsubscribe();
    this.kickTask = undefined;
  }

  private fail(err: unknown): void {
    this.cancel();
    this.subscriber.error(err);
  }
}

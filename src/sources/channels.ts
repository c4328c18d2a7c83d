// In-memory channels from the applier (sinks) to the workers that consume
// them. Each completes itself when the agent stops (the one shutdown signal);
// what happens on overflow is the caller's decision, made visible by `offer`
// returning false.
//
// Kept hand-written: every agent holds one of each for its whole life, and
// rxjs subscriptions are heavy (about 650 B for a plain subscribe, 1 kB more
// per takeUntil). As a ReplaySubject + concat + takeUntil(shutdown$ → load
// back to 0) + concatMap queue and ReplaySubject + takeUntil latest-value
// channels they cost 7.7 kB more per agent in npm run bench's fleet row
// (2026-12-02).
import { from, Observable, type ObservableInput, type Subscriber, type Subscription } from 'rxjs';

/**
 * A FIFO with a hard capacity, worked through strictly one item at a time:
 * an item counts against the capacity from its offer until its work
 * completes. Offers made while no consumer runs wait for the next one (a
 * boot turn may resume a switch before the worker starts). At shutdown the
 * consumer finishes once idle; until then offers are still taken, so
 * follow-up work produced by the running item (a rollback after a failed
 * switch) is not lost. A consumer that fails loses the items it held.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private busy = false;
  /** The running consumer's pump; undefined while none runs. */
  private pump: (() => void) | undefined;
  private shutdownSeen = false;
  private finished = false;

  constructor(
    readonly capacity: number,
    private readonly shutdown$: Observable<unknown>,
  ) {}

  /** Items queued or in progress. */
  get size(): number {
    return this.items.length + (this.busy ? 1 : 0);
  }

  /** True once the running consumer has seen the shutdown signal (it finishes when idle). */
  get stopping(): boolean {
    return this.shutdownSeen;
  }

  /** False when full or finished: the item was not taken. */
  offer(item: T): boolean {
    if (this.finished || this.size >= this.capacity) return false;
    this.items.push(item);
    this.pump?.();
    return true;
  }

  /** Runs `work` for each item, one at a time. A second consumer while one runs is an error. */
  consume<R>(work: (item: T) => ObservableInput<R>): Observable<R> {
    return new Observable<R>((subscriber) => {
      if (this.pump !== undefined) {
        subscriber.error(new Error('BoundedQueue: one consumer at a time'));
        return undefined;
      }
      let inner: Subscription | undefined;
      const pump = (): void => {
        while (!this.busy) {
          // By length, not by an undefined sentinel: undefined is a legal item.
          if (this.items.length === 0) {
            if (this.shutdownSeen) {
              this.finished = true;
              subscriber.complete();
            }
            return;
          }
          const item = this.items.shift() as T;
          this.busy = true;
          let sync = true;
          inner = from(work(item)).subscribe({
            next: (r) => subscriber.next(r),
            error: (e: unknown) => subscriber.error(e),
            complete: () => {
              this.busy = false;
              if (!sync) pump();
            },
          });
          sync = false;
        }
      };
      this.pump = pump;
      let seen = false;
      // First, as takeUntil would: a signal already given finds the queue before its items run.
      const watch = this.shutdown$.subscribe(() => {
        if (seen) return;
        seen = this.shutdownSeen = true;
        pump();
      });
      pump();
      return () => {
        watch.unsubscribe();
        inner?.unsubscribe();
        this.items.length = 0;
        this.busy = false;
        this.pump = undefined;
        this.shutdownSeen = false;
      };
    });
  }
}

/**
 * Latest-value channel: offers never fail; offers made while no consumer
 * listens collapse into the newest (capacity 1, older values superseded), and
 * a consumer that (re)subscribes starts from the newest. Completes at shutdown.
 *
 * Consumers are kept in a plain list rather than a Subject: the drain kick is
 * offered once per queued event, and Subject.next cost 1.0% of the graph
 * bench rollout's instructions (cachegrind, 2026-12-02).
 */
export function latestChannel<T>(shutdown$: Observable<unknown>): { readonly offer: (value: T) => void; readonly values$: Observable<T> } {
  // Replaced, never mutated, when a consumer comes or goes: an offer walks the list it started with (as Subject.next does).
  let consumers: readonly Subscriber<T>[] = [];
  let offered = false;
  let latest: T | undefined;
  const values$ = new Observable<T>((subscriber) => {
    // The signal first, as takeUntil would: after it, a new consumer gets nothing.
    const watch = shutdown$.subscribe(() => subscriber.complete());
    if (!subscriber.closed) {
      consumers = [...consumers, subscriber];
      subscriber.add(() => (consumers = consumers.filter((c) => c !== subscriber)));
      if (offered) subscriber.next(latest as T);
    }
    return watch;
  });
  return {
    offer: (value) => {
      offered = true;
      latest = value;
      for (const c of consumers) c.next(value);
    },
    values$,
  };
}

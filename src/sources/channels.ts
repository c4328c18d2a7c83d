// In-memory channels from the applier (sinks) to the workers that consume
// them. Each completes itself when the agent stops (the one shutdown signal);
// what happens on overflow is the caller's decision, made visible by `offer`
// returning false.
import { BehaviorSubject, concat, concatMap, defer, filter, finalize, from, ReplaySubject, Subject, switchMap, take, takeUntil, tap, throwError, type Observable, type ObservableInput } from 'rxjs';

/**
 * A FIFO with a hard capacity, worked through strictly one item at a time
 * (concatMap): an item counts against the capacity from its offer until its
 * work completes. Offers made while no consumer runs wait for the next one (a
 * boot turn may resume a switch before the worker starts). At shutdown the
 * consumer finishes once idle; until then offers are still taken, so
 * follow-up work produced by the running item (a rollback after a failed
 * switch) is not lost. A consumer that fails loses the items it held.
 */
export class BoundedQueue<T> {
  /** Where offers go: a buffer while no consumer runs, the consumer's feed while one does. */
  private feed: Subject<T> = new ReplaySubject<T>();
  private consuming = false;
  private finished = false;
  /** Items offered and not yet worked through. */
  private readonly load = new BehaviorSubject(0);

  constructor(
    readonly capacity: number,
    private readonly shutdown$: Observable<unknown>,
  ) {}

  /** Items queued or in progress. */
  get size(): number {
    return this.load.value;
  }

  /** False when full or finished: the item was not taken. */
  offer(item: T): boolean {
    if (this.finished || this.load.value >= this.capacity) return false;
    this.load.next(this.load.value + 1);
    this.feed.next(item);
    return true;
  }

  /** Runs `work` for each item, one at a time. A second consumer while one runs is an error. */
  consume<R>(work: (item: T) => ObservableInput<R>): Observable<R> {
    return defer(() => {
      if (this.consuming) return throwError(() => new Error('BoundedQueue: one consumer at a time'));
      this.consuming = true;
      const waiting = this.feed;
      waiting.complete();
      const feed = (this.feed = new Subject<T>());
      let mine = true; // false once this consumer is gone: its late finalizers count nothing
      const done = (): void => {
        if (mine) this.load.next(this.load.value - 1);
      };
      const idleAfterShutdown$ = this.shutdown$.pipe(
        take(1),
        switchMap(() => this.load),
        filter((n) => n === 0),
        tap(() => (this.finished = true)),
      );
      return concat(waiting, feed).pipe(
        takeUntil(idleAfterShutdown$),
        concatMap((item) => from(work(item)).pipe(finalize(done))),
        finalize(() => {
          mine = false;
          this.consuming = false;
          this.feed = new ReplaySubject<T>();
          this.load.next(0);
        }),
      );
    });
  }
}

/**
 * Latest-value channel: offers never fail; offers made while no consumer
 * listens collapse into the newest (capacity 1, older values superseded), and
 * a consumer that (re)subscribes starts from the newest. Completes at shutdown.
 */
export function latestChannel<T>(shutdown$: Observable<unknown>): { readonly offer: (value: T) => void; readonly values$: Observable<T> } {
  const latest = new ReplaySubject<T>(1);
  return { offer: (value) => latest.next(value), values$: latest.pipe(takeUntil(shutdown$)) };
}

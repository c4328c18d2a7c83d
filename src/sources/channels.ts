// In-memory channels from the applier (sinks) to the workers that consume
// them. Each has a fixed capacity; what happens on overflow is the caller's
// decision, made visible by `offer` returning false.
import { Observable, Subject, type ObservableInput, from } from 'rxjs';

/**
 * A FIFO with a hard capacity, consumed one item at a time: the worker's
 * current item counts against the capacity until its work completes.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private busy = false;
  private closing = false;
  private finished = false;
  private readonly wake = new Subject<void>();

  constructor(readonly capacity: number) {}

  /** Items queued or in progress. */
  get size(): number {
    return this.items.length + (this.busy ? 1 : 0);
  }

  /** False when full or finished: the item was not taken. */
  offer(item: T): boolean {
    if (this.finished || this.size >= this.capacity) return false;
    this.items.push(item);
    this.wake.next();
    return true;
  }

  /**
   * Finish once idle: the consumer completes as soon as no item is queued or
   * running. Until then offers are still taken, so follow-up work produced
   * by the running item (a rollback after a failed switch) is not lost.
   */
  close(): void {
    this.closing = true;
    this.wake.next();
  }

  /** Run `work` for each item, strictly one at a time. One consumer only. */
  consume<R>(work: (item: T) => ObservableInput<R>): Observable<R> {
    return new Observable<R>((subscriber) => {
      let inner: { unsubscribe(): void } | undefined;
      const pump = (): void => {
        while (!this.busy) {
          // By length, not by an undefined sentinel: undefined is a legal item.
          if (this.items.length === 0) {
            if (this.closing) {
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
            error: (e) => subscriber.error(e),
            complete: () => {
              this.busy = false;
              if (!sync) pump();
            },
          });
          sync = false;
        }
      };
      const sub = this.wake.subscribe(pump);
      pump();
      return () => {
        sub.unsubscribe();
        inner?.unsubscribe();
        this.busy = false;
      };
    });
  }
}

/**
 * Latest-value channel: offers never fail; offers made before the consumer
 * takes one collapse into the newest (capacity 1, older values superseded).
 */
export class LatestChannel<T> {
  private readonly subject = new Subject<T>();
  private pending: { value: T } | undefined;
  private listening = false;

  offer(value: T): void {
    if (this.listening) this.subject.next(value);
    else this.pending = { value };
  }

  values(): Observable<T> {
    return new Observable<T>((subscriber) => {
      const sub = this.subject.subscribe(subscriber);
      this.listening = true;
      if (this.pending !== undefined) {
        const { value } = this.pending;
        this.pending = undefined;
        subscriber.next(value);
      }
      return () => {
        this.listening = false;
        sub.unsubscribe();
      };
    });
  }

  complete(): void {
    this.subject.complete();
  }
}

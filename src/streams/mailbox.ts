// The reducer's input queue. Everything the reducer consumes passes here, in
// arrival order, one at a time: an input posted while the reducer (or a sink
// it drives) is still handling the previous one waits in the queue instead of
// re-entering `scan` — the same job redux-observable gives its queue scheduler.
//
// Kept hand-written: every agent holds it for its whole life, and as
// filter + observeOn(queueScheduler) + tap it cost 2.0 kB more per agent in
// npm run bench's fleet row (2026-12-02). It is also per graph, where
// queueScheduler's trampoline is shared by every graph in the process.
import { Observable, Subscriber, type OperatorFunction } from 'rxjs';

/**
 * `capacity` bounds the waiting inputs. The reducer and the sinks it drives
 * never wait on I/O, so the queue only holds inputs posted *during* one turn;
 * `onOverflow` gets any input beyond the bound (the caller logs and counts it).
 */
export function mailbox<T>(capacity: number, onOverflow: (dropped: T) => void): OperatorFunction<T, T> {
  return postableMailbox(capacity, onOverflow).operator;
}

/**
 * The same, with `post`: an item put straight into the queue as if the
 * source had emitted it (the graph's sink feedback and `post()`), one call
 * where a Subject merged with the source was two more on every input's way.
 * A post while nobody is subscribed, or after the source completed, is dropped.
 */
export function postableMailbox<T>(capacity: number, onOverflow: (dropped: T) => void): { readonly operator: OperatorFunction<T, T>; readonly post: (item: T) => void } {
  let current: MailboxSubscriber<T> | undefined;
  return {
    operator: (source) =>
      new Observable<T>((subscriber) => {
        const box = new MailboxSubscriber(subscriber, capacity, onOverflow);
        current = box;
        box.add(() => {
          if (current === box) current = undefined;
        });
        return source.subscribe(box);
      }),
    post: (item) => current?.next(item),
  };
}

// A Subscriber of its own rather than an observer object, which rxjs wraps in
// a SafeSubscriber and a ConsumerObserver: two calls fewer per input.
class MailboxSubscriber<T> extends Subscriber<T> {
  private readonly queue: T[] = [];
  private delivering = false;
  private completed = false;

  constructor(
    private readonly downstream: Subscriber<T>,
    private readonly capacity: number,
    private readonly onOverflow: (dropped: T) => void,
  ) {
    super(downstream);
  }

  protected override _next(item: T): void {
    if (this.queue.length >= this.capacity) return this.onOverflow(item);
    this.queue.push(item);
    if (!this.delivering) this.drain();
  }

  protected override _complete(): void {
    this.completed = true;
    if (!this.delivering) this.downstream.complete();
  }

  private drain(): void {
    const { queue, downstream } = this;
    this.delivering = true;
    try {
      // By length, not by an undefined sentinel: undefined is a legal item.
      while (queue.length > 0) downstream.next(queue.shift() as T);
    } finally {
      this.delivering = false;
    }
    if (this.completed) downstream.complete();
  }
}

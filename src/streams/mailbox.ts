// The reducer's input queue. Everything the reducer consumes passes here, in
// arrival order, one at a time: an input posted while the reducer (or a sink
// it drives) is still handling the previous one waits in the queue instead of
// re-entering `scan` — the same job redux-observable gives its queue scheduler.
//
// Kept hand-written: every agent holds it for its whole life, and as
// filter + observeOn(queueScheduler) + tap it cost 2.0 kB more per agent in
// npm run bench's fleet row (2026-12-02). It is also per graph, where
// queueScheduler's trampoline is shared by every graph in the process.
import { Observable, type OperatorFunction } from 'rxjs';

/**
 * `capacity` bounds the waiting inputs. The reducer and the sinks it drives
 * never wait on I/O, so the queue only holds inputs posted *during* one turn;
 * `onOverflow` gets any input beyond the bound (the caller logs and counts it).
 */
export function mailbox<T>(capacity: number, onOverflow: (dropped: T) => void): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const queue: T[] = [];
      let delivering = false;
      let completed = false;
      const drain = (): void => {
        delivering = true;
        try {
          // By length, not by an undefined sentinel: undefined is a legal item.
          while (queue.length > 0) subscriber.next(queue.shift() as T);
        } finally {
          delivering = false;
        }
        if (completed) subscriber.complete();
      };
      return source.subscribe({
        next: (item) => {
          if (queue.length >= capacity) return onOverflow(item);
          queue.push(item);
          if (!delivering) drain();
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          completed = true;
          if (!delivering) subscriber.complete();
        },
      });
    });
}

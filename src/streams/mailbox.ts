// The reducer's input queue. Everything the reducer consumes passes here, in
// arrival order, one at a time: an input posted while the reducer (or a sink
// it drives) is still handling the previous one waits instead of re-entering
// `scan` — redux-observable's queue scheduler, here rxjs's own (`oneAtATime`).
import { defer, filter, tap, type OperatorFunction } from 'rxjs';
import { oneAtATime } from '../sources/time';

/**
 * `capacity` bounds the waiting inputs. The reducer and the sinks it drives
 * never wait on I/O, so only inputs posted *during* one turn wait;
 * `onOverflow` gets any input beyond the bound (the caller logs and counts it).
 */
export function mailbox<T>(capacity: number, onOverflow: (dropped: T) => void): OperatorFunction<T, T> {
  return (source) =>
    defer(() => {
      let waiting = 0;
      return source.pipe(
        filter((item) => {
          if (waiting >= capacity) {
            onOverflow(item);
            return false;
          }
          waiting += 1;
          return true;
        }),
        oneAtATime(),
        tap(() => (waiting -= 1)),
      );
    });
}

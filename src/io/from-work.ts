// The one bridge from Promise-based Node APIs to the cold Observables the
// ports promise (design §2 rule 6): work starts on subscribe, its result is
// emitted once, and unsubscribing aborts it through the AbortSignal. No
// Promise escapes: a late settle after unsubscribe is dropped.
import { Observable } from 'rxjs';

export function fromWork<A>(work: (signal: AbortSignal) => Promise<A>): Observable<A> {
  return new Observable<A>((subscriber) => {
    const ac = new AbortController();
    let settled = false;
    work(ac.signal).then(
      (value) => {
        settled = true;
        subscriber.next(value);
        subscriber.complete();
      },
      (err: unknown) => {
        settled = true;
        subscriber.error(err);
      },
    );
    return () => {
      if (!settled) ac.abort();
    };
  });
}

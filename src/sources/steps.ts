// A sequence of port calls written as straight-line code: the body is a
// generator that yields each call and is resumed with its answer. Used where
// an operator chain per item would cost more than the work itself (the drain
// pass: defer, timeout, catchError, mergeMap... per queued event).
//
// A call answers with the first value it emitted, once it completes
// (`undefined` if it emitted nothing, as a port that broke its "emits once"
// contract would); its error is thrown at the `yield`. A call that answers
// synchronously (the store always does) resumes the body in a loop, so any
// number of them uses no stack; an asynchronous one resumes it from its
// callback. Unsubscribing cancels the call in flight and its timer.
import { Observable, TimeoutError, type Observer, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';

export interface Call {
  readonly source: Observable<unknown>;
  /** Like `timeout({ first })`: fail with a TimeoutError when no value came within `ms`. */
  readonly timeout?: { readonly ms: number; readonly scheduler: SchedulerLike };
}

/** A body: yields calls, receives each one's value (typed at the yield: `(yield call(x)) as T | undefined`). */
export type Steps = Generator<Call, void, unknown>;

export const call = (source: Observable<unknown>, timeout?: Call['timeout']): Call => (timeout === undefined ? { source } : { source, timeout });

/** Runs the body on subscribe; completes when it returns, errors if it throws. */
export function runSteps(body: () => Steps): Observable<never> {
  return new Observable<never>((subscriber) => {
    const runner = new StepRunner(body(), subscriber);
    runner.resume();
    return () => runner.cancel();
  });
}

// One call is in flight at a time, so the runner is the observer of every
// call and keeps the answer in its own fields: nothing is allocated per call.
class StepRunner implements Observer<unknown> {
  private inFlight: Subscription | undefined;
  private timer: Subscription | undefined;
  private sync = false;
  private answered = false;
  private seen = false;
  private value: unknown;
  private failed = false;
  private failure: unknown;

  constructor(
    private readonly gen: Steps,
    private readonly subscriber: Subscriber<never>,
  ) {}

  /** Resumes the body with the current answer; goes on while calls answer synchronously. */
  resume(): void {
    for (;;) {
      if (this.subscriber.closed) return;
      let r: IteratorResult<Call, void>;
      try {
        r = this.failed ? this.gen.throw(this.failure) : this.gen.next(this.value);
      } catch (err) {
        this.subscriber.error(err);
        return;
      }
      if (r.done === true) {
        this.subscriber.complete();
        return;
      }
      if (!this.start(r.value)) return;
    }
  }

  cancel(): void {
    this.inFlight?.unsubscribe();
    this.clearTimer();
  }

  next(v: unknown): void {
    if (this.seen) return;
    this.seen = true;
    this.value = v;
    this.clearTimer();
  }

  error(err: unknown): void {
    this.settle(true, err);
  }

  complete(): void {
    this.settle(false, undefined);
  }

  /** Subscribes to one call; true when it answered synchronously. */
  private start(c: Call): boolean {
    this.answered = this.seen = this.failed = false;
    this.value = this.failure = undefined;
    this.sync = true;
    const sub = c.source.subscribe(this);
    this.sync = false;
    if (this.answered) return true;
    if (this.subscriber.closed) {
      sub.unsubscribe(); // cancelled while the call was being made
      return false;
    }
    this.inFlight = sub;
    const t = c.timeout;
    if (!this.seen && t !== undefined) {
      this.timer = t.scheduler.schedule(() => {
        sub.unsubscribe();
        this.settle(true, new TimeoutError());
      }, t.ms);
    }
    return false;
  }

  private settle(failed: boolean, err: unknown): void {
    this.clearTimer();
    this.inFlight = undefined;
    this.answered = true;
    this.failed = failed;
    if (failed) {
      this.failure = err;
      this.value = undefined;
    }
    if (!this.sync) this.resume();
  }

  private clearTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }
}

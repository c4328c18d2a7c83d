// A sequence of port calls written as straight-line code: the body is a
// generator that yields each call and reads its answer when resumed. Used
// where an operator chain per item costs more than the work itself (the
// drain pass; outbound-drain.ts says by how much).
//
// A call answers with the first value it emitted, once it completes
// (`undefined` if it emitted nothing, as a port that broke its "emits once"
// contract would); its error is thrown at the `yield`. A call that answers
// synchronously (the store always does) resumes the body in a loop, so any
// number of them uses no stack; an asynchronous one resumes it from its
// callback. Unsubscribing cancels the call in flight and its timer and
// returns the body (its `finally` blocks run; they must not yield).
import { Observable, Subscriber, TimeoutError, type Observer, type SchedulerLike, type Subscription } from 'rxjs';

/** Like `timeout({ first })`: fail with a TimeoutError when no value came within `ms`. */
export interface CallTimeout {
  readonly ms: number;
  readonly scheduler: SchedulerLike;
}

/** One port call; after `yield call`, `answer` holds what it emitted (typed, no cast at the call site). */
export class Call<T> {
  answer: T | undefined;
  constructor(
    readonly source: Observable<T>,
    readonly timeout?: CallTimeout,
  ) {}
}

export const call = <T>(source: Observable<T>, timeout?: CallTimeout): Call<T> => new Call(source, timeout);

/** A body: yields each call, then reads `answer` from it. */
export type Steps = Generator<Call<unknown>, void, void>;

/** Runs the body on subscribe; completes when it returns, errors if it throws. */
export function runSteps(body: () => Steps): Observable<never> {
  return new Observable<never>((subscriber) => {
    const runner = new StepRunner(body(), subscriber);
    runner.resume();
    return () => runner.cancel();
  });
}

/** Where a body's end goes: runSteps' subscriber, or a worker that runs bodies itself (the drain). `closed`: cancelled. */
export interface StepsEnd {
  readonly closed: boolean;
  complete(): void;
  error(err: unknown): void;
}

// One call is in flight at a time, so the runner keeps its state in its own
// fields: per call, nothing is allocated beyond the Call and one small
// Subscriber that hands the call's notifications to the runner (rxjs would
// otherwise wrap the runner in a SafeSubscriber and a ConsumerObserver, 3.9%
// of the graph bench's rollout in instructions, cachegrind, 2026-12-02).
export class StepRunner implements Observer<unknown> {
  private current: Call<unknown> | undefined;
  private inFlight: Subscription | undefined;
  private timer: Subscription | undefined;
  private sync = false;
  private answered = false;
  private seen = false;
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly gen: Steps,
    private readonly end: StepsEnd,
  ) {}

  /** Resumes the body after the current answer; goes on while calls answer synchronously. */
  resume(): void {
    for (;;) {
      if (this.end.closed) return;
      let r: IteratorResult<Call<unknown>, void>;
      try {
        const failure = this.failure;
        r = failure !== undefined ? this.gen.throw(failure.error) : this.gen.next();
      } catch (err) {
        this.end.error(err);
        return;
      }
      if (r.done === true) {
        this.end.complete();
        return;
      }
      if (!this.start(r.value)) return;
    }
  }

  /** Cancels the call in flight and its timer, then ends the body where it waits (its `finally` blocks run). */
  cancel(): void {
    this.inFlight?.unsubscribe();
    this.clearTimer();
    try {
      this.gen.return();
    } catch {
      // Cancelled from inside the body itself (it is running): it ends when it next yields, as end.closed says.
    }
  }

  next(v: unknown): void {
    if (this.seen || this.current === undefined) return;
    this.seen = true;
    this.current.answer = v;
    this.clearTimer();
  }

  error(err: unknown): void {
    this.settle({ error: err });
  }

  complete(): void {
    this.settle(undefined);
  }

  /** Subscribes to one call; true when it answered synchronously. */
  private start(c: Call<unknown>): boolean {
    this.current = c;
    this.answered = this.seen = false;
    this.failure = undefined;
    this.sync = true;
    const sub = c.source.subscribe(new CallSubscriber(this));
    this.sync = false;
    if (this.answered) return true;
    if (this.end.closed) {
      sub.unsubscribe(); // cancelled while the call was being made
      return false;
    }
    this.inFlight = sub;
    const t = c.timeout;
    if (!this.seen && t !== undefined) {
      this.timer = t.scheduler.schedule(() => {
        sub.unsubscribe();
        this.settle({ error: new TimeoutError() });
      }, t.ms);
    }
    return false;
  }

  private settle(failure: { readonly error: unknown } | undefined): void {
    this.clearTimer();
    this.inFlight = undefined;
    this.answered = true;
    this.failure = failure;
    if (failure !== undefined && this.current !== undefined) this.current.answer = undefined;
    this.current = undefined;
    if (!this.sync) this.resume();
  }

  private clearTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }
}

class CallSubscriber extends Subscriber<unknown> {
  constructor(private readonly runner: StepRunner) {
    super();
  }

  protected override _next(v: unknown): void {
    this.runner.next(v);
  }

  protected override _error(err: unknown): void {
    try {
      this.runner.error(err);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.runner.complete();
    } finally {
      this.unsubscribe();
    }
  }
}

// The only door to time in the graph. Every timer a source, a stream or a
// sink needs is one of these, and each takes the clock as a required
// argument: a forgotten scheduler is a type error, not a silent fall-back to
// rxjs's asyncScheduler (which `TestScheduler.run` would virtualise anyway,
// hiding the mistake). eslint forbids rxjs's time-taking creators and
// operators in src/sources, src/streams and src/sinks outside this file, and
// spec/streams/virtual-time-canary.spec.ts runs the whole graph on a plain
// VirtualTimeScheduler, so a timer that escapes the clock fails a spec.
import { interval, observeOn, takeUntil, timeout, timer, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs';

/** Anything that carries the injected clock (a SourceContext does). */
export interface Clock {
  readonly scheduler: SchedulerLike;
}

/** One value after `ms`, then completes. */
export const after = (clock: Clock, ms: number): Observable<0> => timer(ms, clock.scheduler);

/** Counts up every `periodMs`; the first value after `firstMs` (at once by default). */
export const every = (clock: Clock, periodMs: number, firstMs = 0): Observable<number> => timer(firstMs, periodMs, clock.scheduler);

/** Counts up every `periodMs`, the first value one period after subscribe. */
export const ticks = (clock: Clock, periodMs: number): Observable<number> => interval(periodMs, clock.scheduler);

/** Fails with rxjs's TimeoutError when no first value came within `ms`. */
export const within = <T>(clock: Clock, ms: number): MonoTypeOperatorFunction<T> => timeout<T, never>({ first: ms, scheduler: clock.scheduler });

/** Re-emits each value in a later task of the clock: after the current reducer turn. */
export const afterTurn = <T>(clock: Clock): MonoTypeOperatorFunction<T> => observeOn<T>(clock.scheduler);

/**
 * A back-off wait that shutdown cuts short: it completes at once, without
 * emitting, when the agent stops (a 30 s renewal back-off must not hold SIGTERM).
 */
export const backoff = (clock: Clock & { readonly shutdown$: Observable<unknown> }, ms: number): Observable<0> =>
  after(clock, ms).pipe(takeUntil(clock.shutdown$));

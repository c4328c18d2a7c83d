// Operators shared by the sources.
import { defer, EMPTY, exhaustMap, of, repeat, retry, tap, type MonoTypeOperatorFunction, type ObservableInput, type OperatorFunction } from 'rxjs';
import { errorMessage } from '../ports/error-text';
import type { SourceContext } from './context';
import { backoff } from './time';

/**
 * Like exhaustMap, but a trigger that arrives while the work runs is
 * remembered (once, the latest) and runs the work again right after it: a
 * burst of drain kicks collapses into one extra pass instead of being lost
 * until the next tick.
 */
export function exhaustMapWithTrailing<T, R>(work: (value: T) => ObservableInput<R>): OperatorFunction<T, R> {
  return (source) =>
    defer(() => {
      let waiting: { readonly value: T } | undefined;
      const next = (): ObservableInput<R> => {
        const w = waiting;
        waiting = undefined;
        return w === undefined ? EMPTY : work(w.value);
      };
      return source.pipe(
        tap((value) => (waiting = { value })),
        exhaustMap(() => defer(next).pipe(repeat({ delay: () => (waiting === undefined ? EMPTY : of(0)) }))),
      );
    });
}

// A source that errors (a bug, or a port that broke its contract) is
// restarted after 1 s, 2 s, 4 s … capped at 60 s; a value seen resets the
// back-off. The other sources are never affected (design §2 invariant 7).
export const ISOLATION_BACKOFF_BASE_MS = 1_000;
export const ISOLATION_BACKOFF_CAP_MS = 60_000;

export function isolate<T>(name: string, ctx: SourceContext): MonoTypeOperatorFunction<T> {
  return retry({
    resetOnSuccess: true,
    delay: (err: unknown, attempt: number) => {
      const ms = Math.min(ISOLATION_BACKOFF_CAP_MS, ISOLATION_BACKOFF_BASE_MS * 2 ** (attempt - 1));
      ctx.logger.error(`${name} failed; restarting`, { error: errorMessage(err), retryInMs: ms, attempt });
      return backoff(ctx, ms);
    },
  });
}

// Operators shared by the sources.
import { Observable, Subscriber, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { errorMessage } from '../ports/error-text';
import type { SourceContext } from './context';
import { backoff } from './time';

// A source that errors (a bug, or a port that broke its contract) is
// restarted after 1 s, 2 s, 4 s … capped at 60 s; a value seen resets the
// back-off. The other sources are never affected (design §2 invariant 7).
// Shutdown during a back-off completes the source instead of restarting it.
export const ISOLATION_BACKOFF_BASE_MS = 1_000;
export const ISOLATION_BACKOFF_CAP_MS = 60_000;

/**
 * retry({ resetOnSuccess: true, delay: back-off }), step for step.
 *
 * Kept hand-written: every agent wraps its 8 sources in it for its whole
 * life, and as rxjs's retry they cost 4.9 kB more per agent in npm run
 * bench's fleet row (2026-12-02).
 */
export function isolate<T>(name: string, ctx: SourceContext): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      source.subscribe(new Attempt({ source, downstream: subscriber, name, ctx }, 0));
    });
}

interface Isolated<T> {
  readonly source: Observable<T>;
  readonly downstream: Subscriber<T>;
  readonly name: string;
  readonly ctx: SourceContext;
}

/** One subscription to an isolated source: values pass; an error schedules the next subscription. */
class Attempt<T> extends Subscriber<T> {
  constructor(
    private readonly isolated: Isolated<T>,
    /** Failures since the source last emitted. */
    private failures: number,
  ) {
    super(isolated.downstream);
  }

  protected override _next(value: T): void {
    this.failures = 0;
    this.isolated.downstream.next(value);
  }

  protected override _error(err: unknown): void {
    const { isolated } = this;
    const { downstream, ctx } = isolated;
    const attempt = this.failures + 1;
    try {
      const ms = Math.min(ISOLATION_BACKOFF_CAP_MS, ISOLATION_BACKOFF_BASE_MS * 2 ** (attempt - 1));
      ctx.logger.error(`${isolated.name} failed; restarting`, { error: errorMessage(err), retryInMs: ms, attempt });
      // The back-off never emits synchronously (a timer of 1 s or more), so `waiting` is set when it does.
      const waiting: Subscription = backoff(ctx, ms).subscribe({
        next: () => {
          downstream.remove(waiting);
          waiting.unsubscribe();
          isolated.source.subscribe(new Attempt(isolated, attempt));
        },
        error: (e: unknown) => downstream.error(e),
        complete: () => downstream.complete(),
      });
      downstream.add(waiting);
    } catch (e) {
      downstream.error(e);
    } finally {
      this.unsubscribe();
    }
  }
}

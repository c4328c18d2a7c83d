// What every source receives: the injected clock, the logger and the one
// shutdown notifier (design §2 invariants 3 and 5).
import type { Observable, SchedulerLike } from 'rxjs';
import { fromEpochMillis, type Timestamp } from '../codecs/timestamp';
import type { Logger } from '../ports/logger';

export interface SourceContext {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** Emits once when the agent stops: sources stop taking new work. */
  readonly shutdown$: Observable<unknown>;
}

/** `now` as the reducer and the wire see it: the scheduler's reading, as a timestamp. */
export const nowOf = (scheduler: SchedulerLike): Timestamp => fromEpochMillis(scheduler.now());

/**
 * A `now` for hot paths: formatting a timestamp costs more than a reducer
 * turn, and many turns share one millisecond, so the last one is reused.
 */
export function cachedNow(scheduler: SchedulerLike): () => Timestamp {
  let lastMs = Number.NaN;
  let last = fromEpochMillis(0);
  return () => {
    const ms = scheduler.now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = fromEpochMillis(ms);
    }
    return last;
  };
}

export const describeError = (err: unknown): string =>
  err instanceof Error ? err.message : typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err);

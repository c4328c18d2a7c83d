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

// Formatting a timestamp costs more than a reducer turn, and most readings
// share a millisecond with the previous one (probes and the ticker fire
// together, the reducer stamps the turn they feed): the last one is reused.
// fromEpochMillis is pure, so one entry serves every scheduler.
let lastMs = Number.NaN;
let last = fromEpochMillis(0);

/** `now` as the reducer and the wire see it: the scheduler's reading, as a timestamp. */
export function nowOf(scheduler: SchedulerLike): Timestamp {
  const ms = scheduler.now();
  if (ms !== lastMs) {
    last = fromEpochMillis(ms);
    lastMs = ms;
  }
  return last;
}

/** `now` bound to one scheduler, for the reducer's turns. */
export const cachedNow =
  (scheduler: SchedulerLike): (() => Timestamp) =>
  () =>
    nowOf(scheduler);

// Notices when the wall clock is stepped (NTP correcting a bad RTC, an
// operator's `date -s`, a VM restored from a snapshot). The agent stamps its
// events and compares soak deadlines and failure anchors with the wall clock,
// so a step changes what it does and reports: a step back holds a soak
// longer, a step forward ends it early. Nothing is corrected here — the
// soak deadline is the CP's absolute time and the wall clock is the only
// shared one — but the log says when and by how much the clock moved, which
// is what an operator needs to explain an early convergence or an event
// stamped before its predecessor.
//
// Every `intervalMs` the elapsed wall time is compared with the elapsed
// monotonic time since the last check; a difference above `toleranceMs` is
// one step (logged once), and both anchors move to now after every check, so
// slow slewing never adds up to a false step. The monotonic clock stops
// during a system suspend, so a resume is reported as a forward step.
import type { Logger } from '../ports/logger';

export interface ClockWatchOptions {
  /** Between checks; default 5,000 ms. */
  readonly intervalMs?: number;
  /** Largest wall-vs-monotonic difference not reported; default 2,000 ms. */
  readonly toleranceMs?: number;
  /** The wall clock in ms; default `Date.now`. */
  readonly wallMs?: () => number;
  /** A monotonic clock in ms; default `performance.now`. */
  readonly monotonicMs?: () => number;
  /** Runs `check` every `ms` and returns how to stop it; default an unref'd setInterval (never keeps the process alive). */
  readonly every?: (ms: number, check: () => void) => () => void;
}

export interface ClockStep {
  /** Size of the step, always positive. */
  readonly byMs: number;
  readonly direction: 'forward' | 'back';
}

export interface ClockWatch {
  /** One comparison now (the timer calls it); returns the step it logged, if any. */
  check(): ClockStep | undefined;
  stop(): void;
}

export const CLOCK_WATCH_INTERVAL_MS = 5_000;
export const CLOCK_STEP_TOLERANCE_MS = 2_000;

const unrefInterval = (ms: number, f: () => void): (() => void) => {
  const timer = setInterval(f, ms);
  timer.unref();
  return () => clearInterval(timer);
};

export function watchWallClock(logger: Logger, opts: ClockWatchOptions = {}): ClockWatch {
  const wall = opts.wallMs ?? (() => Date.now());
  const mono = opts.monotonicMs ?? (() => performance.now());
  const tolerance = opts.toleranceMs ?? CLOCK_STEP_TOLERANCE_MS;
  let wallAt = wall();
  let monoAt = mono();
  let stopped = false;
  const check = (): ClockStep | undefined => {
    if (stopped) return undefined;
    const w = wall();
    const m = mono();
    const drift = w - wallAt - (m - monoAt);
    wallAt = w;
    monoAt = m;
    if (Math.abs(drift) <= tolerance) return undefined;
    const step: ClockStep = { byMs: Math.round(Math.abs(drift)), direction: drift > 0 ? 'forward' : 'back' };
    logger.warn('wall clock stepped', { ...step });
    return step;
  };
  const cancel = (opts.every ?? unrefInterval)(opts.intervalMs ?? CLOCK_WATCH_INTERVAL_MS, () => void check());
  return {
    check,
    stop() {
      if (stopped) return;
      stopped = true;
      cancel();
    },
  };
}

// The wall-clock step detector, with both clocks injected and checks driven
// by hand: no real time passes.
import { watchWallClock, type ClockWatchOptions } from '../../src/io/clock-watch';
import { MemoryLogger } from '../fakes/ports';

/** Two hand-driven clocks and a hand-driven timer. */
function harness(opts: Partial<ClockWatchOptions> = {}) {
  const clocks = { wall: 1_800_000_000_000, mono: 50_000 };
  const timer: { ms?: number; tick?: () => void; cancelled: boolean } = { cancelled: false };
  const logger = new MemoryLogger();
  const watch = watchWallClock(logger, {
    wallMs: () => clocks.wall,
    monotonicMs: () => clocks.mono,
    every: (ms, tick) => {
      timer.ms = ms;
      timer.tick = tick;
      return () => (timer.cancelled = true);
    },
    ...opts,
  });
  /** Both clocks advance by `ms`, then the timer fires. */
  const elapse = (ms: number) => {
    clocks.wall += ms;
    clocks.mono += ms;
    timer.tick?.();
  };
  const warnings = () => logger.lines.filter((l) => l.level === 'warn').map((l) => ({ message: l.message, ...l.fields }));
  return { clocks, timer, logger, watch, elapse, warnings };
}

describe('watchWallClock', () => {
  it('checks every 5 s by default and says nothing while both clocks agree', () => {
    const h = harness();
    expect(h.timer.ms).toBe(5_000);
    for (let i = 0; i < 100; i++) h.elapse(5_000);
    expect(h.logger.lines).toEqual([]);
  });

  it('logs a step back once, with its size, and re-anchors', () => {
    const h = harness();
    h.elapse(5_000);
    h.clocks.wall -= 3_600_000;
    h.elapse(5_000);
    expect(h.warnings()).toEqual([{ message: 'wall clock stepped', byMs: 3_600_000, direction: 'back' }]);
    for (let i = 0; i < 10; i++) h.elapse(5_000);
    expect(h.warnings()).toHaveLength(1);
  });

  it('logs a step forward, and each later step again', () => {
    const h = harness();
    h.clocks.wall += 7_200_000;
    h.elapse(5_000);
    h.elapse(5_000);
    h.clocks.wall -= 10_000;
    h.elapse(5_000);
    expect(h.warnings()).toEqual([
      { message: 'wall clock stepped', byMs: 7_200_000, direction: 'forward' },
      { message: 'wall clock stepped', byMs: 10_000, direction: 'back' },
    ]);
  });

  it('ignores differences up to the tolerance, and slow drift that adds up beyond it', () => {
    const h = harness({ toleranceMs: 2_000 });
    h.clocks.wall += 2_000;
    h.elapse(5_000);
    expect(h.warnings()).toEqual([]);
    // 1.5 s per check (far beyond any slew) for a minute: every check is within tolerance.
    for (let i = 0; i < 12; i++) {
      h.clocks.wall += 1_500;
      h.elapse(5_000);
    }
    expect(h.warnings()).toEqual([]);
    h.clocks.wall -= 2_001;
    h.elapse(5_000);
    expect(h.warnings()).toEqual([{ message: 'wall clock stepped', byMs: 2_001, direction: 'back' }]);
  });

  it('is not fooled by a late timer (a blocked event loop moves both clocks)', () => {
    const h = harness();
    h.elapse(60_000);
    expect(h.warnings()).toEqual([]);
  });

  it('check() can be driven directly, returns the step, and stop() cancels the timer and later checks', () => {
    const h = harness({ intervalMs: 250 });
    expect(h.timer.ms).toBe(250);
    h.clocks.wall += 3_000;
    expect(h.watch.check()).toEqual({ byMs: 3_000, direction: 'forward' });
    expect(h.watch.check()).toBeUndefined();
    h.watch.stop();
    h.watch.stop();
    expect(h.timer.cancelled).toBe(true);
    h.clocks.wall -= 3_000;
    expect(h.watch.check()).toBeUndefined();
    expect(h.warnings()).toHaveLength(1);
  });

  it('by default runs on an unref\'d interval (jest fake timers; the process can still exit)', () => {
    jest.useFakeTimers({ now: 1_800_000_000_000 });
    try {
      const logger = new MemoryLogger();
      const intervals = jest.spyOn(global, 'setInterval');
      let mono = 0;
      const watch = watchWallClock(logger, { monotonicMs: () => mono });
      const handle = intervals.mock.results[0]?.value as NodeJS.Timeout;
      expect(handle.hasRef()).toBe(false);
      mono += 5_000;
      jest.advanceTimersByTime(5_000); // the fake wall clock moved with the monotonic one
      expect(logger.lines).toEqual([]);
      jest.setSystemTime(Date.now() - 3_600_000);
      mono += 5_000;
      jest.advanceTimersByTime(5_000);
      expect(logger.lines).toEqual([{ level: 'warn', message: 'wall clock stepped', fields: { byMs: 3_600_000, direction: 'back' } }]);
      watch.stop();
      mono += 5_000;
      jest.setSystemTime(Date.now() + 3_600_000);
      jest.advanceTimersByTime(10_000);
      expect(logger.lines).toHaveLength(1);
      intervals.mockRestore();
    } finally {
      jest.useRealTimers();
    }
  });
});

// The fleet's virtual clock: actions run in (due, arrival) order, a
// re-schedule moves a pending action, a cancel takes it out of the heap at
// once (the heap holds exactly the live timers).
import type { SchedulerAction } from 'rxjs';
import { VirtualClock } from '../../src/testing';

describe('VirtualClock', () => {
  it('runs what is due in (due, arrival) order, with the time at each due, then sets the time', () => {
    const clock = new VirtualClock(1_000);
    const ran: string[] = [];
    const at = (name: string) => () => ran.push(`${name}@${clock.now()}`);
    clock.schedule(at('c'), 30);
    clock.schedule(at('a'), 10);
    clock.schedule(at('b'), 10);
    clock.schedule(at('late'), 100);
    clock.runUntil(1_050);
    expect(ran).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1_050);
    expect(clock.pending).toBe(1);
  });

  it('a re-schedule supersedes the pending run; a periodic action re-schedules itself', () => {
    const clock = new VirtualClock(0);
    const ran: number[] = [];
    const once = clock.schedule(() => ran.push(clock.now()), 10);
    (once as SchedulerAction<unknown>).schedule(undefined, 40);
    clock.runUntil(100);
    expect(ran).toEqual([40]);

    const ticks: number[] = [];
    clock.schedule(function (this: SchedulerAction<number>, n?: number) {
      ticks.push(clock.now());
      if ((n ?? 0) < 2) this.schedule((n ?? 0) + 1, 25);
    }, 0);
    clock.runUntil(1_000);
    expect(ticks).toEqual([100, 125, 150]);
    expect(clock.pending).toBe(0);
  });

  it('a cancelled action never runs and leaves the heap at once', () => {
    const clock = new VirtualClock(0);
    const ran: string[] = [];
    const a = clock.schedule(() => ran.push('a'), 10);
    clock.schedule(() => ran.push('b'), 20);
    a.unsubscribe();
    expect(clock.pending).toBe(1);
    // Cancelling from inside another action, and cancelling twice, are no-ops beyond that.
    const c = clock.schedule(() => ran.push('c'), 30);
    clock.schedule(() => c.unsubscribe(), 25);
    clock.runUntil(100);
    c.unsubscribe();
    expect(ran).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('agrees with a sorted reference under random schedules, re-schedules and cancels', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const clock = new VirtualClock(0);
    const ran: number[] = [];
    // The reference: every live action's (due, arrival), run in sorted order.
    const live = new Map<number, { due: number; order: number }>();
    const actions = new Map<number, SchedulerAction<unknown>>();
    let order = 0;
    const expected: number[] = [];
    for (let id = 0; id < 2_000; id++) {
      const op = rand(10);
      const target = rand(id + 1);
      if (op < 2 && actions.has(target) && live.has(target)) {
        (actions.get(target) as SchedulerAction<unknown>).unsubscribe();
        live.delete(target);
        actions.delete(target);
      } else if (op < 4 && actions.has(target)) {
        const delay = rand(500);
        (actions.get(target) as SchedulerAction<unknown>).schedule(undefined, delay);
        live.set(target, { due: clock.now() + delay, order: order++ });
      } else {
        const delay = rand(500);
        actions.set(id, clock.schedule(() => ran.push(id), delay) as SchedulerAction<unknown>);
        live.set(id, { due: clock.now() + delay, order: order++ });
      }
      if (id % 100 === 99) {
        const until = clock.now() + rand(300);
        const due = [...live.entries()].filter(([, e]) => e.due <= until).sort(([, x], [, y]) => x.due - y.due || x.order - y.order);
        for (const [k] of due) {
          expected.push(k);
          live.delete(k);
        }
        clock.runUntil(until);
        expect(ran).toEqual(expected);
        expect(clock.pending).toBe(live.size);
      }
    }
  });
});

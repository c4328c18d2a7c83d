// The channels from the applier to the workers: bounded, one consumer, and
// closed by the one shutdown signal (stop() fires nothing else).
import { NEVER, of, ReplaySubject, Subject, tap, timer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { marbles } from '../support/marbles';
import { BoundedQueue, latestChannel } from '../../src/sources/channels';
import { manifestSet } from '../fakes/ports';
import { harness } from '../support/graph-harness';


/** Each item takes `ms` of virtual time; `onEnd` sees its outcome before it completes. Records `item@seconds`. */
function worker(ts: TestScheduler, q: BoundedQueue<string>, ms: number, onEnd: (item: string) => void = () => undefined) {
  const ran: string[] = [];
  let completedAt: number | undefined;
  q.consume((item) => {
    ran.push(`${item}@${ts.now() / 1000}`);
    return timer(ms, ts).pipe(tap(() => onEnd(item)));
  }).subscribe({ complete: () => (completedAt = ts.now()) });
  return { ran, completedAt: () => completedAt };
}

describe('BoundedQueue', () => {
  it('works items one at a time; the running one counts against the capacity', () => {
    marbles((ts) => {
      const q = new BoundedQueue<string>(2, NEVER);
      const w = worker(ts, q, 10_000);
      expect(['a', 'b', 'c'].map((i) => q.offer(i))).toEqual([true, true, false]);
      expect(q.size).toBe(2);
      ts.schedule(() => {
        expect(w.ran).toEqual(['a@0', 'b@10']);
        expect(q.size).toBe(0);
      }, 30_000);
    });
  });

  it('keeps what is offered before its consumer starts (a boot turn resuming a switch)', () => {
    marbles((ts) => {
      const q = new BoundedQueue<string>(4, NEVER);
      q.offer('resumed');
      const w = worker(ts, q, 1_000);
      q.offer('next');
      ts.schedule(() => expect(w.ran).toEqual(['resumed@0', 'next@1']), 5_000);
    });
  });

  it('has one consumer at a time: a second one is an error', () => {
    const q = new BoundedQueue<string>(4, NEVER);
    q.consume(() => NEVER).subscribe();
    let error: unknown;
    q.consume(() => NEVER).subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toMatch(/one consumer/);
  });

  it('at shutdown finishes once idle, still taking the follow-up work of the running item', () => {
    marbles((ts) => {
      const shutdown$ = new Subject<void>();
      const q = new BoundedQueue<string>(4, shutdown$);
      // A failing switch queues its rollback when it ends, after the stop.
      const w = worker(ts, q, 10_000, (item) => {
        if (item === 'switch') q.offer('rollback');
      });
      q.offer('switch');
      ts.schedule(() => shutdown$.next(), 5_000);
      ts.schedule(() => {
        expect(w.ran).toEqual(['switch@0', 'rollback@10']);
        expect(w.completedAt()).toBe(20_000);
        expect(q.offer('late')).toBe(false);
      }, 60_000);
    });
  });

  it('finishes at once when shutdown finds it idle', () => {
    const q = new BoundedQueue<string>(4, of('stopped'));
    let completed = false;
    q.consume(() => NEVER).subscribe({ complete: () => (completed = true) });
    expect([completed, q.offer('x')]).toEqual([true, false]);
  });
});

describe('latestChannel', () => {
  it('collapses offers made before the consumer into the newest, then passes each; completes at shutdown', () => {
    const shutdown$ = new Subject<void>();
    const ch = latestChannel<number>(shutdown$);
    ch.offer(1);
    ch.offer(2);
    const seen: number[] = [];
    let completed = false;
    ch.values$.subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    ch.offer(3);
    ch.offer(4);
    shutdown$.next();
    expect([seen, completed]).toEqual([[2, 3, 4], true]);
  });
  it('a consumer that resubscribes starts from the newest, even one already seen; after shutdown a new consumer gets nothing', () => {
    const shutdown$ = new ReplaySubject<void>(1);
    const ch = latestChannel<number>(shutdown$);
    const first: number[] = [];
    const sub = ch.values$.subscribe((v) => first.push(v));
    ch.offer(1);
    sub.unsubscribe();
    const again: number[] = [];
    ch.values$.subscribe((v) => again.push(v)).unsubscribe();
    shutdown$.next();
    ch.offer(2);
    const late: string[] = [];
    ch.values$.subscribe({ next: (v) => late.push(String(v)), complete: () => late.push('|') });
    expect([first, again, late]).toEqual([[1], [1], ['|']]);
  });
});

describe('stop() is one signal', () => {
  it('a switch that fails after the stop still gets its rollback run before the graph ends', () => {
    marbles((ts) => {
      const h = harness(ts, { manifests: manifestSet('rollback-and-halt') });
      h.activation.durationMs = 8_000;
      h.activation.forward = () => ({ kind: 'SwitchFailed', phase: 'systemd-run-fire', exitCode: 1 });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      const stopped = h.stopAt(5_000);
      ts.schedule(() => {
        expect(h.activation.calls.map((c) => [c.at, c.arg.rollback])).toEqual([
          [1_000, false],
          [9_000, true],
        ]);
        expect(stopped).toEqual({ result: 'drained', at: 17_000 });
        expect(h.cp.postedEvents()).toEqual(h.queued());
      }, 100_000);
    });
  });
});

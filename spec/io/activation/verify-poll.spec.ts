// The verify poll's timing rule (reference §11.6: 2 s interval, 300 s budget)
// in virtual time, and once with real short intervals against a symlink.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { firstValueFrom, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { verifyPoll, type PollOutcome } from '../../../src/io/activation';
import { readCurrentClosure } from '../../../src/io/host';
import { parseUnitExit } from '../../../src/io/activation/tools';

const scheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

/** A reader that returns `values[i]` on the i-th read (the last one forever), recording read times. */
function reader(ts: TestScheduler, values: readonly (string | Error)[]): { read: () => Observable<string>; times: number[] } {
  const times: number[] = [];
  const read = () => {
    const v = values[Math.min(times.length, values.length - 1)] ?? 'none';
    times.push(ts.now());
    return v instanceof Error ? throwError(() => v) : of(v);
  };
  return { read, times };
}

describe('verify poll (virtual time)', () => {
  it('reads every 2 s and times out after 300 s with the last observation (151 reads)', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['old']);
      const poll$ = verifyPoll({ expected: 'new', previous: 'old', read: r.read, intervalMs: 2000, budgetMs: 300_000, scheduler: ts });
      expectObservable(poll$).toBe('300000ms (a|)', { a: { kind: 'Timeout', lastObserved: 'old' } satisfies PollOutcome });
      ts.flush();
      expect(r.times).toHaveLength(151);
      expect(r.times.slice(0, 3)).toEqual([0, 2000, 4000]);
      expect(r.times[150]).toBe(300_000);
    });
  });

  it('settles on the first read that shows the expected closure', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['old', 'old', 'old', 'new']);
      const poll$ = verifyPoll({ expected: 'new', previous: 'old', read: r.read, intervalMs: 2000, budgetMs: 300_000, scheduler: ts });
      expectObservable(poll$).toBe('6000ms (a|)', { a: { kind: 'Settled' } });
    });
  });

  it('stops at once on a third closure when the previous one is known', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['old', 'third']);
      const poll$ = verifyPoll({ expected: 'new', previous: 'old', read: r.read, intervalMs: 2000, budgetMs: 300_000, scheduler: ts });
      expectObservable(poll$).toBe('2000ms (a|)', { a: { kind: 'FlippedToUnexpected', observed: 'third' } });
    });
  });

  it('without a previous closure (rollback), a third closure just keeps polling', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['bad', 'third', 'good']);
      const poll$ = verifyPoll({ expected: 'good', read: r.read, intervalMs: 2000, budgetMs: 300_000, scheduler: ts });
      expectObservable(poll$).toBe('4000ms (a|)', { a: { kind: 'Settled' } });
    });
  });

  it('tolerates read errors (the symlink is briefly absent) and records them', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, [new Error('ENOENT')]);
      const poll$ = verifyPoll({ expected: 'new', previous: 'old', read: r.read, intervalMs: 2000, budgetMs: 10_000, scheduler: ts });
      expectObservable(poll$).toBe('10000ms (a|)', { a: { kind: 'Timeout', lastObserved: '<read-error: ENOENT>' } });
    });
  });

  it('with a zero budget reads once and times out', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['old']);
      expectObservable(verifyPoll({ expected: 'new', read: r.read, intervalMs: 2000, budgetMs: 0, scheduler: ts })).toBe('(a|)', {
        a: { kind: 'Timeout', lastObserved: 'old' },
      });
    });
  });

  it('stops reading when unsubscribed', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const r = reader(ts, ['old']);
      const poll$ = verifyPoll({ expected: 'new', read: r.read, intervalMs: 2000, budgetMs: 300_000, scheduler: ts });
      expectObservable(poll$, '^ 5000ms !').toBe('');
      ts.flush();
      expect(r.times).toEqual([0, 2000, 4000]);
    });
  });
});

describe('verify poll (real time, real symlink)', () => {
  it('sees a symlink flip within a few short intervals', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-poll-'));
    const link = path.join(dir, 'current-system');
    fs.symlinkSync('/nix/store/old', link);
    const { asyncScheduler } = await import('rxjs');
    const done = firstValueFrom(
      verifyPoll({ expected: 'new', previous: 'old', read: () => readCurrentClosure(link), intervalMs: 10, budgetMs: 5_000, scheduler: asyncScheduler }),
    );
    await new Promise((r) => setTimeout(r, 50));
    fs.symlinkSync('/nix/store/new', `${link}.tmp`);
    fs.renameSync(`${link}.tmp`, link);
    expect(await done).toEqual({ kind: 'Settled' });
    fs.rmSync(dir, { recursive: true });
  });
});

describe('unit exit status', () => {
  it.each<[string, string, number | undefined]>([
    ['an exited unit', 'LoadState=loaded\nExecMainCode=1\nExecMainStatus=4\n', 4],
    ['an exited unit, properties in any order', 'ExecMainStatus=0\nLoadState=loaded\nExecMainCode=1\n', 0],
    ['a unit still running (systemd shows 0)', 'LoadState=loaded\nExecMainCode=0\nExecMainStatus=0\n', undefined],
    ['a collected unit (systemd shows 0)', 'LoadState=not-found\nExecMainCode=0\nExecMainStatus=0\n', undefined],
    ['a unit killed by a signal', 'LoadState=loaded\nExecMainCode=2\nExecMainStatus=9\n', undefined],
    ['garbage', 'ExecMainStatus=abc', undefined],
  ])('reads %s', (_what, text, code) => {
    expect(parseUnitExit(text)).toBe(code);
  });
});

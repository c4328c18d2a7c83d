// The real ProcessPort with real child processes: results as data, bounded
// tails, argv never through a shell, and nothing left running after a
// timeout, an unsubscribe, or a leader that backgrounds a child.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { createNodeProcessPort, TailBuffer } from '../../../src/io/process';
import { descendantsOf } from '../../../src/io/process/node-process';
import { exitCodeOf, succeeded } from '../../../src/ports/process';

const port = createNodeProcessPort();
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-proc-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Alive = exists and is not a zombie (a reaped-late orphan counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function pgidOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 20) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

const pids = (file: string): number[] =>
  fs
    .readFileSync(file, 'utf8')
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(Number);

async function waitFor(file: string): Promise<void> {
  if (!(await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim().split(/\s+/).length >= 2))) throw new Error(`${file} never written`);
}

describe('node ProcessPort', () => {
  it('reports the exit code and both streams', async () => {
    const r = await firstValueFrom(port.run({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 7'] }));
    expect(r.termination).toEqual({ kind: 'exited', code: 7 });
    expect(exitCodeOf(r)).toBe(7);
    expect(succeeded(r)).toBe(false);
    expect(Buffer.from(r.stdout).toString()).toBe('out\n');
    expect(Buffer.from(r.stderr).toString()).toBe('err\n');
  });

  it('reports a signal as data', async () => {
    const r = await firstValueFrom(port.run({ argv: ['sh', '-c', 'kill -TERM $$'] }));
    expect(r.termination).toEqual({ kind: 'signaled', signal: 'SIGTERM' });
    expect(exitCodeOf(r)).toBeUndefined();
  });

  it('reports a program that cannot start as data, not an error', async () => {
    const r = await firstValueFrom(port.run({ argv: [path.join(dir, 'missing')] }));
    expect(r.termination).toMatchObject({ kind: 'spawn-failed', code: 'ENOENT' });
  });

  it('refuses a NUL byte in an argument as a spawn failure', async () => {
    const r = await firstValueFrom(port.run({ argv: ['echo', 'a\0b'] }));
    expect(r.termination.kind).toBe('spawn-failed');
  });

  it('passes arguments verbatim, never through a shell', async () => {
    const nasty = 'a; touch pwned $(touch pwned2) `touch pwned3` | cat > pwned4 *';
    const r = await firstValueFrom(port.run({ argv: ['printf', '%s', nasty], cwd: dir }));
    expect(Buffer.from(r.stdout).toString()).toBe(nasty);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps only the last bytes of a long output, and says so', async () => {
    const r = await firstValueFrom(port.run({ argv: ['sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" a; printf END'], stdoutTailBytes: 1024 }));
    expect(r.stdout.length).toBe(1024);
    expect(Buffer.from(r.stdout).toString().endsWith('aaaEND')).toBe(true);
    expect(r.stdoutTruncated).toBe(true);
    expect(r.stderrTruncated).toBe(false);
  });

  it('discards a stream whose tail size is 0', async () => {
    const r = await firstValueFrom(port.run({ argv: ['sh', '-c', 'echo hi'], stdoutTailBytes: 0 }));
    expect(r.stdout.length).toBe(0);
    expect(succeeded(r)).toBe(true);
  });

  it('on timeout kills the whole process group, grandchildren included', async () => {
    const file = path.join(dir, 'pids');
    const run = firstValueFrom(port.run({ argv: ['sh', '-c', `sleep 30 & echo $$ $! > ${file}; wait`], timeoutMs: 300 }));
    await waitFor(file);
    const [leader, child] = pids(file) as [number, number];
    expect(alive(leader) && alive(child)).toBe(true);
    const r = await run;
    expect(r.termination).toEqual({ kind: 'timed-out', afterMs: 300 });
    expect(await eventually(() => !alive(leader) && !alive(child))).toBe(true);
  });

  it('on timeout kills every descendant, a setsid one that left the group included (`sleep & setsid sleep & sleep`)', async () => {
    const file = path.join(dir, 'tree');
    // Every process writes its own pid; the leader waits until all three have, then sleeps with them.
    const script = [
      `echo $$ >> ${file}`,
      `sh -c 'echo $$ >> ${file}; exec sleep 100' &`,
      `setsid sh -c 'echo $$ >> ${file}; exec sleep 100' &`,
      `sh -c 'echo $$ >> ${file}; exec sleep 100' &`,
      `while [ "$(wc -l < ${file})" -lt 4 ]; do sleep 0.01; done`,
      'wait',
    ].join('\n');
    const run = firstValueFrom(port.run({ argv: ['sh', '-c', script], timeoutMs: 1000 }));
    expect(await eventually(() => fs.existsSync(file) && pids(file).length === 4)).toBe(true);
    const all = pids(file);
    const [leader, ...children] = all as [number, ...number[]];
    // One child really left the leader's process group: the group kill alone would miss it.
    expect(children.map((pid) => pgidOf(pid) === leader).sort()).toEqual([false, true, true]);
    const r = await run;
    expect(r.termination).toEqual({ kind: 'timed-out', afterMs: 1000 });
    expect(await eventually(() => all.every((pid) => !alive(pid)))).toBe(true);
    expect({ leader: alive(leader), children: children.filter(alive) }).toEqual({ leader: false, children: [] });
  });

  it('descendantsOf finds children and grandchildren through /proc, setsid ones included', async () => {
    const file = path.join(dir, 'tree');
    const sub = port
      .run({ argv: ['sh', '-c', `echo $$ >> ${file}; setsid sh -c 'sh -c "echo \\$\\$ >> ${file}; exec sleep 30" & echo $$ >> ${file}; wait' & wait`] })
      .subscribe();
    try {
      expect(await eventually(() => fs.existsSync(file) && pids(file).length === 3)).toBe(true);
      const [leader, ...rest] = pids(file) as [number, ...number[]];
      expect(descendantsOf(leader)).toEqual(expect.arrayContaining(rest));
      expect(descendantsOf(leader)).not.toContain(leader);
    } finally {
      sub.unsubscribe();
    }
  });

  it('on unsubscribe kills the whole process group and emits nothing', async () => {
    const file = path.join(dir, 'pids');
    const seen: unknown[] = [];
    const sub = port.run({ argv: ['sh', '-c', `sleep 30 & echo $$ $! > ${file}; wait`] }).subscribe((r) => seen.push(r));
    await waitFor(file);
    const [leader, child] = pids(file) as [number, number];
    sub.unsubscribe();
    expect(await eventually(() => !alive(leader) && !alive(child))).toBe(true);
    expect(seen).toEqual([]);
  });

  it('kills a backgrounded grandchild when the leader exits, and does not wait on its pipes', async () => {
    const file = path.join(dir, 'pids');
    const started = Date.now();
    const r = await firstValueFrom(port.run({ argv: ['sh', '-c', `sleep 30 & echo $! > ${file}; echo done`] }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(Buffer.from(r.stdout).toString()).toBe('done\n');
    expect(await eventually(() => !alive(Number(fs.readFileSync(file, 'utf8').trim())))).toBe(true);
  });

  it('does not hang on a grandchild that escaped the group holding its pipes (close grace)', async () => {
    const file = path.join(dir, 'escaped');
    const quick = createNodeProcessPort({ closeGraceMs: 200 });
    const started = Date.now();
    const r = await firstValueFrom(quick.run({ argv: ['sh', '-c', `setsid sh -c 'echo $$ > ${file}; exec sleep 20' & while [ ! -s ${file} ]; do sleep 0.01; done; echo hi`] }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.termination).toEqual({ kind: 'exited', code: 0 });
    expect(Buffer.from(r.stdout).toString()).toBe('hi\n');
    process.kill(Number(fs.readFileSync(file, 'utf8').trim()), 'SIGKILL');
  });

  it('is cold: nothing runs before subscribe, and each subscribe runs again', async () => {
    const file = path.join(dir, 'count');
    const run$ = port.run({ argv: ['sh', '-c', `echo x >> ${file}`] });
    expect(fs.existsSync(file)).toBe(false);
    await lastValueFrom(run$);
    expect(await lastValueFrom(run$.pipe(toArray()))).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('x\nx\n');
  });

  it('passes the given environment only', async () => {
    const r = await firstValueFrom(port.run({ argv: ['/usr/bin/env'], env: { ONLY: 'this' } }));
    expect(Buffer.from(r.stdout).toString()).toBe('ONLY=this\n');
  });
});

describe('TailBuffer', () => {
  it('keeps the last bytes across chunks', () => {
    const t = new TailBuffer(5);
    for (const c of ['abc', 'defg', 'h']) t.push(Buffer.from(c));
    expect(Buffer.from(t.bytes()).toString()).toBe('defgh');
    expect(t.truncated).toBe(true);
  });

  it('is not truncated below the limit', () => {
    const t = new TailBuffer(5);
    t.push(Buffer.from('abcde'));
    expect(Buffer.from(t.bytes()).toString()).toBe('abcde');
    expect(t.truncated).toBe(false);
  });
});

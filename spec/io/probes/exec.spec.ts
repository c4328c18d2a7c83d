// The exec runner with real processes: exit codes, stderr lines, a hang past
// the timeout (the whole process group is gone afterwards), flapping.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { createProbeAdapter, FAILURE_REASON_MAX_LEN } from '../../../src/io/probes';
import { declare, runOnce, tempDir } from './support';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

describe('exec probe', () => {
  it('passes on exit 0', async () => {
    expect(await runOnce(declare({ kind: 'exec', mode: 'enforce', command: ['true'] }))).toEqual({ status: 'pass' });
  });

  it('fails with the exit code and the last three stderr lines, newest first', async () => {
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', command: ['sh', '-c', 'printf "one\\ntwo\\nthree\\nfour\\n" >&2; echo noise; exit 3'] }));
    expect(r).toEqual({ status: 'fail', failureReason: 'exec probe: exit Some(3); stderr: four / three / two' });
  });

  it('runs argv without a shell', async () => {
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', command: ['test', '-e', `${dir}/x; true`] }));
    expect(r.status).toBe('fail');
  });

  it('kills a probe that hangs past its timeout, with everything it started', async () => {
    const pids = path.join(dir, 'pids');
    const probe = declare({ kind: 'exec', mode: 'enforce', timeoutSecs: 1, command: ['sh', '-c', `sleep 60 & echo $$ $! > ${pids}; wait`] });
    const r = await runOnce(probe);
    expect(r).toEqual({ status: 'fail', failureReason: 'exec probe: timed out after 1s' });
    const [leader, child] = fs.readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    for (let i = 0; i < 100 && (alive(leader) || alive(child)); i++) await new Promise((res) => setTimeout(res, 20));
    expect(alive(leader)).toBe(false);
    expect(alive(child)).toBe(false);
  });

  it('fails when the program cannot start', async () => {
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', command: [path.join(dir, 'nope')] }));
    expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(/^exec probe: spawn: .*ENOENT/) });
  });

  it('fails on an empty command', async () => {
    expect(await runOnce(declare({ kind: 'exec', mode: 'enforce' }))).toEqual({ status: 'fail', failureReason: 'exec probe: command argv missing' });
  });

  it('caps a huge failure reason at 512 bytes plus the mark', async () => {
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', command: ['sh', '-c', 'printf "%.0sé" $(seq 1000) >&2; exit 1'] }));
    const reason = r.failureReason ?? '';
    expect(reason.endsWith('...[truncated]')).toBe(true);
    expect(Buffer.byteLength(reason.slice(0, -'...[truncated]'.length))).toBeLessThanOrEqual(FAILURE_REASON_MAX_LEN);
    expect(reason).not.toContain('\uFFFD');
  });

  it('flaps: pass, fail, pass, fail from a toggling check', async () => {
    const state = path.join(dir, 'state');
    const adapter = createProbeAdapter();
    const probe = declare({ kind: 'exec', mode: 'enforce', command: ['sh', '-c', `if [ -e ${state} ]; then rm ${state}; exit 1; else touch ${state}; fi`] });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await firstValueFrom(adapter.run(probe))).status);
    expect(seen).toEqual(['pass', 'fail', 'pass', 'fail']);
  });
});

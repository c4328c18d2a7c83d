// The exec runner with real processes: exit codes, stderr lines, a hang past
// the timeout (the whole process group is gone afterwards), flapping.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { createProbeAdapter, FAILURE_REASON_MAX_LEN, isProbeEnvName, probeEnv } from '../../../src/io/probes';
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

  it('names the signal of a killed probe where upstream prints only `exit None`', async () => {
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', command: ['sh', '-c', 'echo dying >&2; kill -TERM $$'] }));
    expect(r).toEqual({ status: 'fail', failureReason: 'exec probe: exit None (killed by SIGTERM); stderr: dying' });
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

  it('kills, on timeout, a setsid child that left the probe’s process group (`sleep & setsid sleep & sleep`)', async () => {
    const pids = path.join(dir, 'pids');
    const script = `sleep 100 & echo $! >> ${pids}; setsid sh -c 'echo $$ >> ${pids}; exec sleep 100' & sleep 100 & echo $! >> ${pids}; wait`;
    const r = await runOnce(declare({ kind: 'exec', mode: 'enforce', timeoutSecs: 1, command: ['sh', '-c', script] }));
    expect(r).toEqual({ status: 'fail', failureReason: 'exec probe: timed out after 1s' });
    const all = fs.readFileSync(pids, 'utf8').trim().split(/\s+/).map(Number);
    expect(all).toHaveLength(3);
    for (let i = 0; i < 100 && all.some(alive); i++) await new Promise((res) => setTimeout(res, 20));
    expect(all.filter(alive)).toEqual([]);
  });

  describe('environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    });

    it('sees an allowlist of the agent’s environment, never its secrets or its own configuration', async () => {
      Object.assign(process.env, {
        AWS_SECRET_ACCESS_KEY: 'secret',
        CREDENTIALS_DIRECTORY: '/run/credentials/nixfleet-agent.service',
        NIXFLEET_AGENT_BOOTSTRAP_TOKEN_FILE: '/run/secrets/bootstrap-token',
        NIXFLEET_AGENT_CP_URL: 'https://cp.example',
        NIXFLEET_TAGS: 'web,eu',
        LC_ALL: 'C.UTF-8',
        TZ: 'UTC',
      });
      const out = path.join(dir, 'env.json');
      // node, not sh: a shell adds PWD, SHLVL and `_` of its own.
      const probe = declare({ kind: 'exec', mode: 'enforce', command: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env))`] });
      expect(await runOnce(probe)).toEqual({ status: 'pass' }); // the adapter is created after the variables are set
      const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, string>;
      expect(seen).toMatchObject({ NIXFLEET_TAGS: 'web,eu', LC_ALL: 'C.UTF-8', TZ: 'UTC', PATH: process.env['PATH'] });
      expect(Object.keys(seen).filter((k) => !isProbeEnvName(k))).toEqual([]);
      for (const k of ['AWS_SECRET_ACCESS_KEY', 'CREDENTIALS_DIRECTORY', 'NIXFLEET_AGENT_BOOTSTRAP_TOKEN_FILE', 'NIXFLEET_AGENT_CP_URL', 'HOME']) expect(seen).not.toHaveProperty(k);
    });

    it('probeEnv keeps PATH, locale, TZ, TMPDIR and NIXFLEET_* (not NIXFLEET_AGENT_*)', () => {
      expect(
        probeEnv({ PATH: '/bin', HOME: '/root', LANG: 'C', LC_TIME: 'C', LOCALE_ARCHIVE: '/la', TZ: 'UTC', TMPDIR: '/t', NIXFLEET_TAGS: 'a', NIXFLEET_AGENT_CLIENT_KEY: '/k', TOKEN: 'x', U: undefined }),
      ).toEqual({ PATH: '/bin', LANG: 'C', LC_TIME: 'C', LOCALE_ARCHIVE: '/la', TZ: 'UTC', TMPDIR: '/t', NIXFLEET_TAGS: 'a' });
    });
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

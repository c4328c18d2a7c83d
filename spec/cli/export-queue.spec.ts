// `nixfleet-agent export-queue`: its help (80 columns, examples, exit codes),
// what it prints, and its exit codes — 0 exported or nothing to export, 1
// while an agent holds the state directory (the files are not written then),
// 2 for usage errors. Through the built binary, as an operator runs it.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderExport } from '../../src/cli/export-queue';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseInvocation } from '../../src/cli/program';
import { acquireInstanceLock } from '../../src/io/store/instance-lock';
import { UPSTREAM_QUEUE_DIR } from '../../src/io/store/upstream-queue';
import { openStore, tempDir } from '../store/support';

const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NIXFLEET_AGENT_STATE_DIR: '' } });

// Asynchronous: the lock's holder is this process, and it must be free to answer.
const runAsync = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }));
  });

const ROLLOUT = 'stable@deadbeef';

function stateDirWithEvents(): string {
  const dir = tempDir('export-cli');
  const { store } = openStore(dir);
  const env = (seq: number, kind: string, extra: object) => ({ hostname: 'web-01', rolloutId: ROLLOUT, event: { kind, ...extra, seq } });
  store.enqueue({ rolloutId: ROLLOUT, seq: 2, kind: 'ActivationStarted', durable: true, envelope: env(2, 'ActivationStarted', { startedAt: '2026-05-16T01:00:00Z', switchMethod: 'switch' }) });
  store.enqueue({ rolloutId: ROLLOUT, seq: 3, kind: 'Converged', durable: true, envelope: env(3, 'Converged', { convergedAt: '2026-05-16T01:05:00Z', currentClosure: 'c' }) });
  store.close();
  return dir;
}

describe('export-queue', () => {
  let dirs: string[] = [];
  afterEach(() => {
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    dirs = [];
  });

  it('`help export-queue` is `export-queue --help`: 80 columns, an example, the exit codes', () => {
    const help = parseInvocation(['help', 'export-queue'], '9.9.9');
    expect(help).toMatchObject({ kind: 'exit', code: EXIT_OK, stderr: '' });
    const text = help.kind === 'exit' ? help.stdout : '';
    expect(parseInvocation(['export-queue', '--help'], '9.9.9')).toEqual(help);
    expect(text).toMatch(/^Usage: nixfleet-agent export-queue \[options\]/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).toContain('nixfleet-agent export-queue --state-dir /var/lib/nixfleet-agent');
    expect(text).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*agent runs on the state directory[\s\S]*\n {2}2 +usage error/);
    expect(parseInvocation(['export-queue', '--state-dir', '/x'], '9.9.9')).toEqual({ kind: 'export-queue', stateDir: '/x' });
    expect(parseInvocation(['export-queue', '--nope'], '9.9.9')).toMatchObject({ kind: 'exit', code: EXIT_USAGE });
  });

  it('writes the files, lists them, exits 0', () => {
    const dir = stateDirWithEvents();
    dirs.push(dir);
    const r = run('export-queue', '--state-dir', dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(EXIT_OK);
    expect(r.stdout).toBe(
      [
        `Exported 2 event(s) to ${path.join(dir, UPSTREAM_QUEUE_DIR)}`,
        `  ${ROLLOUT}  seq 2  ActivationStarted`,
        `  ${ROLLOUT}  seq 3  Converged`,
        'The Rust agent sends them once it runs on this state directory.',
        '',
      ].join('\n'),
    );
    expect(fs.readdirSync(path.join(dir, UPSTREAM_QUEUE_DIR)).sort()).toEqual([
      `00000000000000000002-web-01-${ROLLOUT}-ActivationStarted.json`,
      `00000000000000000003-web-01-${ROLLOUT}-Converged.json`,
    ]);
  });

  it('refuses with exit 1 while an agent holds the state directory, and writes nothing', async () => {
    const dir = stateDirWithEvents();
    dirs.push(dir);
    const lock = await acquireInstanceLock(dir, '2026-05-16T03:00:00Z');
    try {
      const r = await runAsync('export-queue', '--state-dir', dir);
      expect(r.status).toBe(EXIT_FAILURE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^nixfleet-agent export-queue: .*pid \d+/);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(fs.existsSync(path.join(dir, UPSTREAM_QUEUE_DIR))).toBe(false);
    } finally {
      lock.release();
    }
  });

  it('no database yet: says so, exits 0, creates nothing', () => {
    const dir = tempDir('export-cli');
    dirs.push(dir);
    const r = run('export-queue', '--state-dir', dir);
    expect(r.status).toBe(EXIT_OK);
    expect(r.stdout).toBe(`No agent state in ${dir}: nothing to export.\n`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('escapes what came from the CP and keeps each line within 80 columns', () => {
    const text = renderExport(
      {
        dir: '/var/lib/nixfleet-agent/outbound-queue',
        exported: [{ file: 'f', event: { seq: 1, hostname: 'h', rollout_id: `stable@${'x'.repeat(90)}\x1b[2J`, event_kind: 'Converged', created_at: '2026-05-16T01:00:00Z' as never, payload: {} as never } }],
        failed: [],
        seqClashes: [],
        deadLettered: 0,
      },
      '/var/lib/nixfleet-agent',
    );
    expect(text).not.toContain('\x1b');
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });
});

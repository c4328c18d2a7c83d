// The built daemon as a process: sd_notify readiness, watchdog and stopping
// on a stand-in NOTIFY_SOCKET, a clean exit on SIGTERM, usage errors, and the
// status command on the state it left. The CP is unreachable here; the
// end-to-end specs run it against the development CP.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createCa, makeHostKey } from '../support/pki';

const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');

interface Server {
  bind(p: string): void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', f?: (buf: Buffer) => void): Server };

const TRUST = {
  schemaVersion: 1,
  ciReleaseKey: { current: { algorithm: 'ed25519', public: 'XGEGLc7caQGxOHt9EcWsRyhKk2fj6v5OVdDd+BFO8KY=' }, previous: null, rejectBefore: null },
  cacheKeys: [],
  orgRootKey: null,
};

describe('the daemon process', () => {
  let dir: string;
  let server: Server;
  const received: { at: number; message: string }[] = [];
  let child: ChildProcess | undefined;

  let caPem: string;
  beforeAll(async () => {
    caPem = (await createCa()).certPem;
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daemon-'));
    fs.writeFileSync(path.join(dir, 'trust.json'), JSON.stringify(TRUST));
    fs.writeFileSync(path.join(dir, 'ca.pem'), caPem);
    received.length = 0;
    server = unix.createSocket('unix_dgram', (buf) => received.push({ at: performance.now(), message: buf.toString() }));
    server.bind(path.join(dir, 'notify'));
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const args = () => [
    '--control-plane-url', 'https://127.0.0.1:1',
    '--machine-id', 'web-01',
    '--trust-file', path.join(dir, 'trust.json'),
    '--ca-cert', path.join(dir, 'ca.pem'),
    '--state-dir', path.join(dir, 'state'),
    '--host-root', path.join(dir, 'host'),
    '--log-format', 'json',
  ];
  const until = async (f: () => boolean, what: string, ms = 20_000) => {
    const start = performance.now();
    while (!f()) {
      if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('a second agent on the same state directory exits 1 naming the first; the first runs on', async () => {
    child = spawn(process.execPath, [BIN, ...args()], { env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify') } });
    await until(() => received.some((r) => r.message.startsWith('READY=1')), 'READY=1');
    const second = spawnSync(process.execPath, [BIN, ...args()], { encoding: 'utf8', timeout: 20_000 });
    expect(second.status).toBe(1);
    const error = second.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; error?: string }).find((l) => l.level === 'error');
    expect(error).toMatchObject({ message: 'state directory unusable', error: expect.stringContaining(`another agent (pid ${child.pid ?? 0}, running since`) });
    expect(child.exitCode).toBeNull();
  });

  it('SIGTERM while first-boot enrollment waits for an unreachable CP: exit 0 at once, a log line, STOPPING=1', async () => {
    const key = makeHostKey();
    fs.writeFileSync(path.join(dir, 'host_key'), key.openssh, { mode: 0o600 });
    const claims = { hostname: 'web-01', expectedPubkeyFingerprint: key.fingerprint, issuedAt: '2026-05-17T09:00:00Z', expiresAt: '2099-05-18T09:00:00Z', nonce: 'c0ffee1234567890abcdef0123456789' };
    fs.writeFileSync(path.join(dir, 'token.json'), JSON.stringify({ version: 1, claims, signature: 'c2lnbmF0dXJl' }));
    let stdout = '';
    const enrolling = [...args(), '--bootstrap-token-file', path.join(dir, 'token.json'), '--client-cert', path.join(dir, 'cert.pem'), '--client-key', path.join(dir, 'host_key')];
    child = spawn(process.execPath, [BIN, ...enrolling], { env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify') } });
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    await until(() => stdout.includes('enroll: control plane unreachable; retrying'), 'an enrollment retry');
    child.kill('SIGTERM');
    expect(await exited).toBe(0); // not killed by the signal, and not after the 10 s retry wait
    expect(received.map((r) => r.message)).toContain('STOPPING=1\nSTATUS=stopping');
    expect(stdout).toContain('stopped during start-up');
    expect(fs.existsSync(path.join(dir, 'cert.pem'))).toBe(false);
  });

  it('a --ca-cert that holds no usable certificate: exit 1 at start, one line naming the flag, no stack trace', () => {
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'not a certificate\n');
    const r = spawnSync(process.execPath, [BIN, ...args()], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; error?: string });
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({ message: 'CA certificate unusable', error: `--ca-cert ${path.join(dir, 'ca.pem')}: not a usable CA certificate: holds no PEM certificate` }),
    ]);
  });

  it('sends READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM, and exits 0', async () => {
    let stdout = '';
    child = spawn(process.execPath, [BIN, ...args()], { env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '300000' } });
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    await until(() => received.some((r) => r.message.startsWith('READY=1')), 'READY=1');
    await until(() => received.filter((r) => r.message === 'WATCHDOG=1').length >= 3, 'three WATCHDOG=1');
    const pings = received.filter((r) => r.message === 'WATCHDOG=1').map((r) => r.at);
    const gaps = pings.slice(1).map((t, i) => t - (pings[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThan(100); // ~150 ms apart, not a burst
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(received.map((r) => r.message)).toContain('STOPPING=1\nSTATUS=stopping');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { message: string });
    expect(lines.map((l) => l.message)).toEqual(expect.arrayContaining(['agent running', 'stopping: finishing in-flight work', 'agent stopped']));

    const status = spawnSync(process.execPath, [BIN, 'status', '--state-dir', path.join(dir, 'state')], { encoding: 'utf8' });
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('Active rollouts (0):');
    const json = spawnSync(process.execPath, [BIN, 'status', '--json', '--state-dir', path.join(dir, 'state')], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout)).toMatchObject({ present: true, rollouts: [], queue: { queued: 0 } });
  });

  it('client certificate material that does not load: exit 1 at start with one line, not a daemon that runs unable to reach the CP', () => {
    fs.writeFileSync(path.join(dir, 'cert.pem'), 'not a certificate\n');
    fs.writeFileSync(path.join(dir, 'key'), 'not a key\n', { mode: 0o600 });
    const r = spawnSync(process.execPath, [BIN, ...args(), '--client-cert', path.join(dir, 'cert.pem'), '--client-key', path.join(dir, 'key')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string });
    expect(lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['TLS material unusable']);
  });

  it('a renewal threshold without --client-cert: renewal off with one INFO line at start, no warning', async () => {
    let stdout = '';
    child = spawn(process.execPath, [BIN, ...args(), '--renewal-threshold-fraction', '0.5']);
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    await until(() => stdout.includes('agent running'), 'agent running');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string });
    expect(lines.filter((l) => /renewal/.test(l.message)).map((l) => [l.level, l.message])).toEqual([['info', 'certificate renewal disabled']]);
  });

  it('exits 1 with a clear message when the trust file does not parse', () => {
    fs.writeFileSync(path.join(dir, 'trust.json'), '{"schemaVersion": 2}');
    const r = spawnSync(process.execPath, [BIN, ...args()], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('trust file unusable');
  });

  it('refuses a plain-http control plane (exit 2); the development flag lets it start, with a warning first', async () => {
    const httpArgs = args().map((a) => (a === 'https://127.0.0.1:1' ? 'http://127.0.0.1:1' : a));
    const refused = spawnSync(process.execPath, [BIN, ...httpArgs], { encoding: 'utf8' });
    expect([refused.status, refused.stderr]).toEqual([2, expect.stringContaining("error: option '--control-plane-url <url>' is plain http (http://127.0.0.1:1)")]);
    let stdout = '';
    child = spawn(process.execPath, [BIN, ...httpArgs, '--insecure-allow-plain-http-for-development'], { env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify') } });
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await until(() => received.some((r) => r.message.startsWith('READY=1')), 'READY=1');
    const first = JSON.parse(stdout.split('\n')[0] ?? '') as { level: string; message: string };
    expect(first).toMatchObject({ level: 'warn', message: expect.stringMatching(/^INSECURE: plain http to the control plane allowed for development/) });
  });

  it('exits 2 without --ca-cert, naming the flag', () => {
    const noCa = args().filter((a, i, all) => a !== '--ca-cert' && all[i - 1] !== '--ca-cert');
    const r = spawnSync(process.execPath, [BIN, ...noCa], { encoding: 'utf8' });
    expect([r.status, r.stderr.trim()]).toEqual([2, "error: required option '--ca-cert <path>' not specified: the agent trusts only the fleet CA that signs the control plane's certificate, never the public roots"]);
  });

  it('exits 2 on a usage error, 0 on --version', () => {
    const bad = spawnSync(process.execPath, [BIN, '--machine-id', 'x'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr.trim()]).toEqual([2, "error: required option '--control-plane-url <url>' not specified"]);
    const v = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect([v.status, v.stdout.trim()]).toEqual([0, JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')).version]);
  });

  it('status without any state says so', () => {
    const r = spawnSync(process.execPath, [BIN, 'status', '--state-dir', path.join(dir, 'none')], { encoding: 'utf8' });
    expect([r.status, r.stdout]).toEqual([0, `No agent state in ${path.join(dir, 'none')} yet (the agent has not run here).\n`]);
  });
});

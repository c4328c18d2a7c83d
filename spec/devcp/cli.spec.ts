// `nixfleet-agent dev-cp`: flags, the files it writes for an agent, a
// rollout opened from the command line, the admin route, usage errors, key
// files refused before anything is written, and the agent command line it
// prints, run as pasted. The CLI is started in-process (startDevCpCli) and
// closed by the spec; the signal wait of runDevCpCli is the only part not run
// here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { runDevCpCli, startDevCpCli, type CliIo } from '../../src/devcp/cli';
import { enrollIfNeeded } from '../../src/io/enroll/enroll';
import { loadTlsMaterial } from '../../src/io/enroll/identity';
import { createCpClient } from '../../src/io/http/client';
import { CLOSURE_B, keys, raw, tempDir, until, type Keys } from './support';

const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) };
}

describe('dev-cp command line', () => {
  let k: Keys;
  beforeAll(async () => {
    k = await keys();
  });

  it('writes ca.pem, trust.json and a token per host, prints them, opens a rollout; an agent enrolls with those files', async () => {
    const dir = tempDir('cli');
    const hostDir = tempDir('cli-host');
    const pub = path.join(hostDir, 'ssh_host_ed25519_key.pub');
    const priv = path.join(hostDir, 'ssh_host_ed25519_key');
    fs.writeFileSync(pub, k.web.sshPublicLine + '\n');
    fs.writeFileSync(priv, k.db.openssh, { mode: 0o600 });
    const o = io();
    const started = await startDevCpCli(
      ['--state-dir', dir, '--host', `web-01=${pub}`, '--host', `db-01=${priv}`, '--release', `web-01=${CLOSURE_B}`, '--on-health-failure', 'halt', '--soak-minutes', '0.5', '--json', '--log-level', 'warn'],
      o,
    );
    if (started.kind !== 'running') throw new Error(`CLI exited: ${o.err.join('')}`);
    try {
      const summary = JSON.parse(o.out.join('')) as { url: string; caCert: string; trust: string; tokens: Record<string, string>; rolloutId: string; adminToken: string };
      expect(summary).toMatchObject({
        url: started.devCp.url,
        caCert: path.join(dir, 'ca.pem'),
        trust: path.join(dir, 'trust.json'),
        tokens: { 'db-01': path.join(dir, 'tokens', 'db-01.json'), 'web-01': path.join(dir, 'tokens', 'web-01.json') },
        rolloutId: started.rollout?.rolloutId,
        adminToken: path.join(dir, 'admin-token'),
      });
      // A host declared by its private key file gets the public half.
      expect(started.devCp.hosts().find((h) => h.hostname === 'db-01')).toBeDefined();
      expect(started.devCp.record(summary.rolloutId, 'web-01')).toMatchObject({ state: 'Pending', targetClosure: CLOSURE_B });

      const cert = path.join(hostDir, 'agent-cert.pem');
      const keyFile = path.join(hostDir, 'web-key');
      fs.writeFileSync(keyFile, k.web.openssh, { mode: 0o600 });
      const outcome = await firstValueFrom(
        enrollIfNeeded({ controlPlaneUrl: summary.url, machineId: 'web-01', caFile: summary.caCert, clientCertFile: cert, clientKeyFile: keyFile, bootstrapTokenFile: summary.tokens['web-01'] ?? '' }),
      );
      expect(outcome.kind).toBe('enrolled');
      const tls = await firstValueFrom(loadTlsMaterial({ caFile: summary.caCert, clientCertFile: cert, clientKeyFile: keyFile }));
      const client = createCpClient({ baseUrl: summary.url, tls });
      expect(await firstValueFrom(client.dispatch(0))).toMatchObject({ kind: 'dispatch', dispatch: { rolloutId: summary.rolloutId, targetClosure: CLOSURE_B } });
      client.close();

      // The admin route opens the next rollout, with the token the CLI wrote.
      const admin = fs.readFileSync(summary.adminToken, 'utf8').trim();
      const body = JSON.stringify({ closures: { 'web-01': CLOSURE_B.replace('5x2q', '6x2q') }, onHealthFailure: 'rollback-and-halt', soakMinutes: 0 });
      const refused = await raw(started.devCp, { method: 'POST', path: '/dev/admin/release', headers: { 'content-type': 'application/json' }, body });
      expect(refused.status).toBe(401);
      const res = await raw(started.devCp, { method: 'POST', path: '/dev/admin/release', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body });
      expect(res.status).toBe(200);
      const next = JSON.parse(res.text()) as { rolloutId: string };
      expect(started.devCp.rollouts().map((r) => [r.rolloutId, r.supersededAt === null])).toEqual([
        [summary.rolloutId, false],
        [next.rolloutId, true],
      ]);
    } finally {
      await started.devCp.close();
    }
  });

  it('prints a human summary by default', async () => {
    const o = io();
    const started = await startDevCpCli(['--state-dir', tempDir('cli-text'), '--log-level', 'error'], o);
    if (started.kind !== 'running') throw new Error(o.err.join(''));
    await started.devCp.close();
    expect(o.out.join('')).toMatch(/^nixfleet dev control plane\n {2}url {10}https:\/\/127\.0\.0\.1:\d+\n/);
  });

  it('usage: --help exits 0, an unknown flag or a bad value 2, an unreadable key file 1', async () => {
    const help = io();
    expect(await startDevCpCli(['--help'], help)).toEqual({ kind: 'exit', code: 0 });
    expect(help.out.join('')).toContain('--release <host=closure>');
    expect(await startDevCpCli(['--bogus'], io())).toEqual({ kind: 'exit', code: 2 });
    expect(await startDevCpCli(['--port', 'eighty'], io())).toEqual({ kind: 'exit', code: 2 });
    expect(await startDevCpCli(['--host', 'web-01'], io())).toEqual({ kind: 'exit', code: 2 });
    const missing = io();
    expect(await startDevCpCli(['--state-dir', tempDir('cli-missing'), '--host', 'web-01=/nonexistent/key.pub'], missing)).toEqual({ kind: 'exit', code: 1 });
    expect(missing.err.join('')).toContain('/nonexistent/key.pub');
    // runDevCpCli returns the exit code without waiting for a signal when it does not start.
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runDevCpCli(['--help'])).toBe(0);
    } finally {
      write.mockRestore();
    }
  });

  describe('a --host key file that declares no usable key', () => {
    const cases: [string, (file: string) => void, RegExp][] = [
      ['missing', () => undefined, /: cannot read it: no such file; nothing was written$/],
      ['text that is no key', (f) => fs.writeFileSync(f, 'hello\n'), /not an ssh-ed25519 public key \(it starts "hello"\)/],
      ['an RSA public key', (f) => fs.writeFileSync(f, 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root@web-01\n'), /not an ssh-ed25519 public key/],
      ['a damaged OpenSSH private key', (f) => fs.writeFileSync(f, '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n'), /not an OpenSSH ed25519 private key/],
      ['empty', (f) => fs.writeFileSync(f, ''), /: empty; nothing was written$/],
    ];
    it.each(cases)('%s: exit 1, one stderr line naming the file, nothing written to the state dir', async (_what, make, reason) => {
      const keyDir = tempDir('cli-badkey');
      const file = path.join(keyDir, 'web-01.pub');
      make(file);
      const stateDir = path.join(tempDir('cli-badkey-state'), 'cp');
      const o = io();
      expect(await startDevCpCli(['--state-dir', stateDir, '--host', `web-01=${file}`, '--log-level', 'debug'], o)).toEqual({ kind: 'exit', code: 1 });
      const err = o.err.join('');
      expect(err.endsWith('\n') && err.split('\n')).toHaveLength(2);
      expect(err.startsWith(`dev-cp: --host web-01=${file}: `)).toBe(true);
      expect(err.trimEnd()).toMatch(reason);
      expect(o.out).toEqual([]);
      expect(fs.existsSync(stateDir)).toBe(false);
    });

    it('a host name that is not one is refused the same way; without --state-dir no temporary directory is made', async () => {
      const tmp = tempDir('cli-tmpdir');
      const saved = process.env['TMPDIR'];
      process.env['TMPDIR'] = tmp;
      try {
        const pub = path.join(tempDir('cli-name'), 'key.pub');
        fs.writeFileSync(pub, k.web.sshPublicLine + '\n');
        const o = io();
        expect(await startDevCpCli(['--host', `web 01=${pub}`], o)).toEqual({ kind: 'exit', code: 1 });
        expect(o.err.join('')).toBe(`dev-cp: --host web 01=${pub}: host name "web 01" is not a plain host name; nothing was written\n`);
        const bad = io();
        expect(await startDevCpCli(['--host', `web-01=${path.join(tmp, 'nope.pub')}`], bad)).toEqual({ kind: 'exit', code: 1 });
        expect(fs.readdirSync(tmp)).toEqual([]);
      } finally {
        if (saved === undefined) delete process.env['TMPDIR'];
        else process.env['TMPDIR'] = saved;
      }
    });
  });

  it('prints per host an agent command line that enrolls and checks in as pasted into a shell', async () => {
    const dir = tempDir('cli-agent');
    const keyDir = tempDir('cli-agent-key');
    // ssh-keygen's layout: the private key beside the .pub the CP is given.
    const priv = path.join(keyDir, 'ssh_host_ed25519_key');
    fs.writeFileSync(priv, k.web.openssh, { mode: 0o600 });
    fs.writeFileSync(`${priv}.pub`, k.web.sshPublicLine + '\n');
    const text = io();
    const started = await startDevCpCli(['--state-dir', dir, '--host', `web-01=${priv}.pub`, '--log-level', 'warn'], text);
    if (started.kind !== 'running') throw new Error(text.err.join(''));
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const line = text.out.join('').split('\n').find((l) => l.startsWith('nixfleet-agent '));
      expect(line).toBe(
        [
          'nixfleet-agent',
          `--control-plane-url ${started.devCp.url}`,
          '--machine-id web-01',
          `--ca-cert ${path.join(dir, 'ca.pem')}`,
          `--trust-file ${path.join(dir, 'trust.json')}`,
          `--bootstrap-token-file ${path.join(dir, 'tokens', 'web-01.json')}`,
          `--client-cert ${path.join(dir, 'agents', 'web-01', 'agent-cert.pem')}`,
          `--client-key ${priv}`,
          `--state-dir ${path.join(dir, 'agents', 'web-01', 'state')}`,
        ].join(' '),
      );
      expect(text.out.join('')).toContain('agent web-01, as a command line:\n' + line + '\n');
      // Pasted into a shell, with this checkout's build standing for the installed command.
      const shellLine = (line ?? '').replace(/^nixfleet-agent /, `'${process.execPath}' '${BIN}' `);
      child = spawn('bash', ['-c', `exec ${shellLine}`], { env: { ...process.env, NOTIFY_SOCKET: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
      const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
      await until(() => started.devCp.hosts().find((h) => h.hostname === 'web-01')?.lastCheckinAt != null || child?.exitCode !== null, 'the agent to check in', 6_000);
      expect({ checkedIn: started.devCp.hosts().find((h) => h.hostname === 'web-01')?.lastCheckinAt != null, log: child.exitCode === null ? '' : log }).toEqual({ checkedIn: true, log: '' });
      expect(fs.existsSync(path.join(dir, 'agents', 'web-01', 'agent-cert.pem'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child?.exitCode === null) child.kill('SIGKILL');
      await started.devCp.close();
    }
  });
});


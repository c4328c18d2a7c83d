// Local users get nothing from the state directory: every directory is 0700
// and every file 0600 (database, WAL, shm, manifest cache) whatever the
// umask; the daemon repairs a state dir systemd or an older agent left 0755
// (with a warning naming the old mode) and refuses one owned by another user.
// Where the runner is root, a process as uid 65534 shows it can neither read
// the database nor open it to take a lock.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { DB_FILE_NAME, type AgentStore } from '../../src/io/store';
import { secureStateDir, StateDirOwnerError, type PermissionFs, type StatLike } from '../../src/io/store/permissions';
import { fsManifestCacheStore } from '../../src/io/manifest-files';
import { createCa } from '../support/pki';
import { openStore, recordingLogger, tempDir } from './support';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');

const mode = (p: string): string => `0${(fs.statSync(p).mode & 0o777).toString(8)}`;

/** Every entry below `dir` (and `dir` itself) with its mode: `0700` for dirs, `0600` expected for files. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': mode(dir) };
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      out[path.relative(dir, p)] = mode(p);
      if (fs.statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const withUmask = async <T>(mask: number, f: () => Promise<T>): Promise<T> => {
  const saved = process.umask(mask);
  try {
    return await f();
  } finally {
    process.umask(saved);
  }
};

// Each call takes the next seq after the rollout's counter, as the reducer would.
const ev = (store: AgentStore, rolloutId: string) => {
  const seq = store.lastSeq(rolloutId) + 1;
  return { rolloutId, seq, kind: 'DispatchAck', durable: true, envelope: { seq } };
};

describe('state file modes', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('perm');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each([
    ['022', 0o022],
    ['000', 0o000],
  ])('under umask %s: dirs 0700, the database, its WAL and shm and the manifest cache 0600', async (_name, mask) => {
    const stateDir = path.join(root, 'var', 'state');
    await withUmask(mask, async () => {
      const { store } = openStore(stateDir);
      try {
        store.enqueue(ev(store, 'stable@a'));
        const cache = fsManifestCacheStore(stateDir);
        await firstValueFrom(cache.write('fleet/fleet.resolved.json', new TextEncoder().encode('{}')));
        await firstValueFrom(cache.write('fleet/fleet.resolved.json.sig', new Uint8Array([1, 2])));
        await firstValueFrom(cache.write('rollouts/stable@a.json', new TextEncoder().encode('{}')));
        // the store is open: its WAL and shm exist
        expect(modes(stateDir)).toEqual({
          '.': '0700',
          [DB_FILE_NAME]: '0600',
          [`${DB_FILE_NAME}-wal`]: '0600',
          [`${DB_FILE_NAME}-shm`]: '0600',
          fleet: '0700',
          'fleet/fleet.resolved.json': '0600',
          'fleet/fleet.resolved.json.sig': '0600',
          rollouts: '0700',
          'rollouts/stable@a.json': '0600',
        });
        expect(mode(path.join(root, 'var'))).toBe('0700');
      } finally {
        store.close();
      }
    });
  });

  it('tightens a database, WAL and shm an older agent left 0644, and cache dirs and files it left 0755/0644', async () => {
    const stateDir = path.join(root, 'state');
    const first = openStore(stateDir).store;
    try {
      first.enqueue(ev(first, 'stable@a'));
      for (const suffix of ['', '-wal', '-shm']) fs.chmodSync(path.join(stateDir, DB_FILE_NAME + suffix), 0o644);
      fs.mkdirSync(path.join(stateDir, 'fleet'), { mode: 0o755 });
      fs.chmodSync(path.join(stateDir, 'fleet'), 0o755);
      fs.writeFileSync(path.join(stateDir, 'fleet/fleet.resolved.json'), 'old', { mode: 0o644 });
      const second = openStore(stateDir).store;
      second.close();
      await firstValueFrom(fsManifestCacheStore(stateDir).write('fleet/fleet.resolved.json', new TextEncoder().encode('new')));
      expect(modes(stateDir)).toMatchObject({
        [DB_FILE_NAME]: '0600',
        [`${DB_FILE_NAME}-wal`]: '0600',
        [`${DB_FILE_NAME}-shm`]: '0600',
        fleet: '0700',
        'fleet/fleet.resolved.json': '0600',
      });
    } finally {
      first.close();
    }
  });
});

describe('secureStateDir (the daemon’s start-up check)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('perm-check');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates a missing state dir 0700 whatever the umask, without a warning', async () => {
    const dir = path.join(root, 'a', 'state');
    const log = recordingLogger();
    await withUmask(0o000, async () => secureStateDir(dir, log));
    expect([mode(dir), mode(path.join(root, 'a'))]).toEqual(['0700', '0700']);
    expect(log.lines).toEqual([]);
  });

  it('repairs a 0755 dir (as systemd’s StateDirectory= makes it) and 0644 files below it, warning with the old mode', () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(path.join(dir, 'rollouts'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'rollouts'), 0o755);
    fs.writeFileSync(path.join(dir, DB_FILE_NAME), '', { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'rollouts/stable@a.json'), '{}', { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'private'), '', { mode: 0o600 });
    fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
    const log = recordingLogger();
    const report = secureStateDir(dir, log);
    expect(report).toEqual({ oldMode: 0o755, tightened: [DB_FILE_NAME, 'rollouts', 'rollouts/stable@a.json'] });
    expect(modes(dir)).toMatchObject({ '.': '0700', [DB_FILE_NAME]: '0600', rollouts: '0700', 'rollouts/stable@a.json': '0600', private: '0600' });
    expect(fs.statSync('/etc/passwd').mode & 0o777).toBe(0o644); // a symlink below is never followed
    expect(log.lines).toEqual([
      { level: 'warn', message: 'state dir was accessible to other users (mode 0755); tightened it to 0700', fields: { stateDir: dir, oldMode: '0755' } },
      { level: 'warn', message: 'state files were accessible to other users; removed group and other access', fields: { stateDir: dir, count: 3, files: `${DB_FILE_NAME}, rollouts, rollouts/stable@a.json` } },
    ]);
    // a second start finds nothing to repair
    const again = recordingLogger();
    expect(secureStateDir(dir, again)).toEqual({ tightened: [] });
    expect(again.lines).toEqual([]);
  });

  it('refuses a path that is not a directory', () => {
    const file = path.join(root, 'file');
    fs.writeFileSync(file, '');
    expect(() => secureStateDir(file, recordingLogger())).toThrow(`state dir ${file} is not a directory`);
  });

  it('refuses a dir owned by another user, changing nothing (injected stat: runs as any user)', () => {
    const chmods: string[] = [];
    const stat = (uid: number, m: number): StatLike => ({ uid, mode: 0o040000 | m, isDirectory: () => true, isSymbolicLink: () => false });
    const fsx: PermissionFs = {
      uid: () => 0,
      mkdirp: () => undefined,
      stat: () => stat(NOBODY, 0o755),
      lstat: () => stat(NOBODY, 0o755),
      chmod: (p) => void chmods.push(p),
      readdir: () => [],
    };
    const log = recordingLogger();
    let thrown: unknown;
    try {
      secureStateDir('/var/lib/nixfleet-agent', log, fsx);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StateDirOwnerError);
    expect((thrown as Error).message).toBe(
      "state dir /var/lib/nixfleet-agent is owned by uid 65534, not by the agent's uid 0: refusing to start, as its owner could replace the database under the agent (chown it to uid 0, or choose another --state-dir)",
    );
    expect(chmods).toEqual([]);
    expect(log.lines).toEqual([]);
  });

  (isRoot ? it : it.skip)('refuses a real dir chowned to uid 65534 (root only)', () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chownSync(dir, NOBODY, NOBODY);
    expect(() => secureStateDir(dir, recordingLogger())).toThrow(`state dir ${dir} is owned by uid 65534, not by the agent's uid 0`);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  });
});

describe('the daemon at start (built daemon: npm run build first)', () => {
  let root: string;
  let caPem: string;
  beforeAll(async () => {
    caPem = (await createCa()).certPem;
  });
  beforeEach(() => {
    root = tempDir('perm-daemon');
    fs.writeFileSync(
      path.join(root, 'trust.json'),
      JSON.stringify({ schemaVersion: 1, ciReleaseKey: { current: { algorithm: 'ed25519', public: 'XGEGLc7caQGxOHt9EcWsRyhKk2fj6v5OVdDd+BFO8KY=' }, previous: null, rejectBefore: null }, cacheKeys: [], orgRootKey: null }),
    );
    fs.writeFileSync(path.join(root, 'ca.pem'), caPem);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const args = (stateDir: string) => [
    BIN,
    ...['--control-plane-url', 'https://127.0.0.1:1', '--machine-id', 'web-01', '--trust-file', path.join(root, 'trust.json'), '--ca-cert', path.join(root, 'ca.pem')],
    ...['--state-dir', stateDir, '--host-root', path.join(root, 'host'), '--log-format', 'json'],
  ];
  const lines = (stdout: string) => stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('repairs a 0755 state dir with a warning naming the old mode, then runs', async () => {
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir);
    fs.chmodSync(stateDir, 0o755);
    const env = { ...process.env };
    delete env['NOTIFY_SOCKET'];
    const child = spawn(process.execPath, args(stateDir), { env });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      for (let i = 0; i < 1000 && !stdout.includes('"agent running"'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(lines(stdout)).toContainEqual(
        expect.objectContaining({ level: 'warn', message: 'state dir was accessible to other users (mode 0755); tightened it to 0700', stateDir, oldMode: '0755' }),
      );
      expect(mode(stateDir)).toBe('0700');
      expect(mode(path.join(stateDir, DB_FILE_NAME))).toBe('0600');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  (isRoot ? it : it.skip)('exits 1 with one clear line when another user owns the state dir (root only)', () => {
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.chownSync(stateDir, NOBODY, NOBODY);
    const r = spawnSync(process.execPath, args(stateDir), { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const errors = lines(r.stdout).filter((l) => l['level'] === 'error');
    expect(errors).toEqual([expect.objectContaining({ message: 'state directory unusable', stateDir, error: expect.stringMatching(/^state dir .* is owned by uid 65534, not by the agent's uid 0: refusing to start/) })]);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });
});

(isRoot ? describe : describe.skip)('another local user (uid 65534; root only)', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir('perm-nobody');
    fs.chmodSync(root, 0o755); // so that only the state dir's own mode stands in the way
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const asNobody = (...argv: string[]) => spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { encoding: 'utf8' });

  it('cannot read the database, its WAL or shm, nor open them to take a lock', () => {
    // control: the same commands work on a world-readable file in a 0755 dir
    const open = path.join(root, 'open');
    fs.mkdirSync(open, { mode: 0o755 });
    fs.chmodSync(open, 0o755);
    fs.writeFileSync(path.join(open, 'file'), 'visible', { mode: 0o644 });
    fs.chmodSync(path.join(open, 'file'), 0o644);
    expect(asNobody('cat', path.join(open, 'file'))).toMatchObject({ status: 0, stdout: 'visible' });
    expect(asNobody('flock', '--shared', '--nonblock', path.join(open, 'file'), 'true')).toMatchObject({ status: 0 });

    const stateDir = path.join(root, 'state');
    const saved = process.umask(0o022);
    const { store } = openStore(stateDir);
    process.umask(saved);
    try {
      store.enqueue(ev(store, 'stable@a'));
      for (const suffix of ['', '-wal', '-shm']) {
        const file = path.join(stateDir, DB_FILE_NAME + suffix);
        expect(fs.existsSync(file)).toBe(true);
        const read = asNobody('cat', file);
        expect([suffix, read.status, read.stderr]).toEqual([suffix, 1, expect.stringContaining('Permission denied')]);
        const lock = asNobody('flock', '--shared', '--nonblock', file, 'true');
        expect([suffix, lock.status === 0, lock.stderr]).toEqual([suffix, false, expect.stringContaining('Permission denied')]);
      }
      expect(asNobody('ls', stateDir)).toMatchObject({ status: 2, stderr: expect.stringContaining('Permission denied') });
      // and the agent's writes are not held up
      store.enqueue(ev(store, 'stable@a'));
      expect(store.lastSeq('stable@a')).toBe(2);
    } finally {
      store.close();
    }
  });
});

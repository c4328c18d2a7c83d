// A read-only state dir (or database file) is a typed `read-only` error for
// the caller, never a crash, and the file is neither moved nor changed.
//
// Honest read-only as root: root ignores permission bits, so chmod alone
// proves nothing. The store therefore runs in a child process; when the test
// runs as root that child runs as uid/gid 65534 (nobody), and the kernel
// enforces the 0555/0444 modes exactly as it would for an unprivileged
// agent. As a non-root user the child keeps the test's own uid.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DB_FILE_NAME } from '../../src/io/store';
import { openStore, tempDir, transpileForChild } from './support';

const NOBODY = 65534;

interface ChildResult {
  phase: 'open' | 'enqueue';
  ok: boolean;
  code?: string;
  message?: string;
  seq?: number;
  uid?: number;
}

describe('read-only state dir', () => {
  let build: string;
  let root: string;
  let child: ReturnType<typeof transpileForChild>;

  beforeAll(() => {
    build = tempDir('ro-build');
    child = transpileForChild(build);
  });
  afterAll(() => fs.rmSync(build, { recursive: true, force: true }));

  beforeEach(() => {
    root = tempDir('ro');
    fs.chmodSync(root, 0o755); // let the unprivileged child reach its state dir
  });
  // Every directory writable again first: as a non-root user, rm cannot empty a 0555 one.
  const unlock = (dir: string): void => {
    fs.chmodSync(dir, 0o755);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) unlock(path.join(dir, e.name));
  };
  afterEach(() => {
    unlock(root);
    fs.rmSync(root, { recursive: true, force: true });
  });

  const runChild = (stateDir: string): ChildResult => {
    const asNobody = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    const r = spawnSync(process.execPath, [child.fixture('open-store'), stateDir], {
      env: child.env,
      encoding: 'utf8',
      ...asNobody,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const out = JSON.parse(r.stdout) as ChildResult;
    if (process.getuid?.() === 0) expect(out.uid).toBe(NOBODY);
    return out;
  };

  const snapshot = (dir: string) =>
    Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n)).toString('base64')]));

  it('the child can open and write a store when the dir is writable (control)', () => {
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir, { mode: 0o777 });
    fs.chmodSync(stateDir, 0o777);
    expect(runChild(stateDir)).toMatchObject({ phase: 'enqueue', ok: true, seq: 1 });
  });

  it('an empty read-only dir gives read-only at open', () => {
    const stateDir = path.join(root, 'state');
    fs.mkdirSync(stateDir);
    fs.chmodSync(stateDir, 0o555);
    const r = runChild(stateDir);
    expect(r).toMatchObject({ phase: 'open', ok: false, code: 'read-only' });
    expect(r.message).toMatch(/EACCES/);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  it('a state dir that cannot be created gives read-only at open', () => {
    fs.chmodSync(root, 0o555);
    const r = runChild(path.join(root, 'missing', 'state'));
    expect(r).toMatchObject({ phase: 'open', ok: false, code: 'read-only' });
  });

  it('an existing database in a read-only dir gives read-only and is left untouched', () => {
    const stateDir = path.join(root, 'state');
    const { store } = openStore(stateDir);
    store.enqueue({ rolloutId: 'ch@a', seq: 1, kind: 'k', durable: true, envelope: { seq: 1 } });
    store.close();
    fs.chmodSync(path.join(stateDir, DB_FILE_NAME), 0o444);
    fs.chmodSync(stateDir, 0o555);
    const before = snapshot(stateDir);
    expect(runChild(stateDir)).toMatchObject({ phase: 'open', ok: false, code: 'read-only' });
    expect(snapshot(stateDir)).toEqual(before);
  });

  it('a read-only database file in a writable dir gives read-only from SQLite itself', () => {
    const stateDir = path.join(root, 'state');
    const { store } = openStore(stateDir);
    store.close();
    fs.chmodSync(path.join(stateDir, DB_FILE_NAME), 0o444);
    fs.chmodSync(stateDir, 0o777);
    const before = fs.readFileSync(path.join(stateDir, DB_FILE_NAME));
    const r = runChild(stateDir);
    expect(r).toMatchObject({ ok: false, code: 'read-only' });
    expect(r.message).toMatch(/SQLITE_READONLY/);
    expect(fs.readFileSync(path.join(stateDir, DB_FILE_NAME))).toEqual(before);
    expect(fs.readdirSync(stateDir).filter((n) => n.includes('corrupt'))).toEqual([]);
  });
});

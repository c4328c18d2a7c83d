// One agent per state directory (src/io/store/instance-lock.ts): a second one
// is refused with the holder's pid; a lock left by a dead agent is taken
// over; and two real daemons on one directory — the second exits 1.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireInstanceLock, INSTANCE_LOCK_FILE } from '../../src/io/store/instance-lock';

describe('state directory lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a second holder is refused, naming the first; released, it can be taken again', async () => {
    const first = await acquireInstanceLock(dir, '2026-12-02T00:00:00Z');
    await expect(acquireInstanceLock(dir, 'later')).rejects.toThrow(`another agent (pid ${process.pid}, running since 2026-12-02T00:00:00Z) uses the state directory ${dir}; refusing to start`);
    first.release();
    expect(fs.existsSync(path.join(dir, INSTANCE_LOCK_FILE))).toBe(false);
    (await acquireInstanceLock(dir, 'again')).release();
  });

  it('a lock left by a process that died is taken over', async () => {
    // A child listens on the lock's path and is killed: the socket file stays, nobody answers.
    const file = path.join(dir, INSTANCE_LOCK_FILE);
    const child = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(child.signal).toBe('SIGKILL');
    expect(fs.existsSync(file)).toBe(true);
    const lock = await acquireInstanceLock(dir, 'now');
    lock.release();
  });

  it('a held lock survives another process trying: two processes, one lock', async () => {
    const lock = await acquireInstanceLock(dir, 'first');
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../../dist/io/store/instance-lock.js'))}).acquireInstanceLock(${JSON.stringify(dir)}, 'x').then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
    const other = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    other.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => other.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`another agent (pid ${process.pid}, running since first)`);
    lock.release();
  });

  it('a state directory whose path is too long for a socket runs unlocked, and says so', async () => {
    const deep = path.join(dir, 'x'.repeat(120));
    fs.mkdirSync(deep);
    const lock = await acquireInstanceLock(deep, 'now');
    expect(lock.unlocked).toMatch(/too long for its lock socket/);
    lock.release();
  });
});

// `status` reads and changes nothing: no migration, no mode repair, no file
// created or moved — whether the agent is stopped or running — and a
// database it cannot read is one clear line (exit 1), never a stack trace.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { readStatus } from '../../src/cli/status';
import { AgentStore, DB_FILE_NAME } from '../../src/io/store';
import { silentLogger } from '../../src/ports/logger';

const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');
const NOW = '2026-05-17T10:00:00Z';

/** Every file's name, mode, size, mtime and content hash. */
const snapshot = (dir: string) =>
  fs
    .readdirSync(dir)
    .sort()
    .map((n) => {
      const file = path.join(dir, n);
      const st = fs.statSync(file);
      return [n, st.mode, st.size, st.mtimeMs, crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')];
    });

describe('status is read-only', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-status-ro-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const seed = (store: AgentStore) => {
    store.confirmClosure({ closure: 'c-1', confirmedAt: NOW });
    store.enqueue({ rolloutId: 'stable@a', seq: 1, kind: 'DispatchAck', durable: true, envelope: { x: 1 } });
  };

  it('the agent stopped: it reads everything and leaves the directory exactly as it was (no -wal, no -shm)', () => {
    const store = AgentStore.open({ stateDir: dir, logger: silentLogger, clock: () => NOW });
    seed(store);
    store.close();
    const before = snapshot(dir);
    const report = readStatus(dir);
    expect(report).toMatchObject({ lastConfirmedClosure: { closure: 'c-1' } });
    expect(snapshot(dir)).toEqual(before);
  });

  it('the agent running: it sees what the agent has not checkpointed yet, and creates nothing', () => {
    const store = AgentStore.open({ stateDir: dir, logger: silentLogger, clock: () => NOW });
    try {
      seed(store);
      const names = fs.readdirSync(dir).sort();
      expect(readStatus(dir)).toMatchObject({ lastConfirmedClosure: { closure: 'c-1' } });
      expect(fs.readdirSync(dir).sort()).toEqual(names);
    } finally {
      store.close();
    }
  });

  it.each([
    ['a corrupt file', (file: string) => fs.writeFileSync(file, 'garbage that is not SQLite at all, long enough to have a header '.repeat(4)), /not a readable agent database .*move the file aside/],
    [
      'a database of a newer agent',
      (file: string) => {
        const db = new Database(file);
        db.pragma('user_version = 99');
        db.close();
      },
      /written by a newer agent \(schema 99/,
    ],
  ])('%s: exit 1 with one line naming the file, and the file is left where and as it is', (_name, make, reason) => {
    const file = path.join(dir, DB_FILE_NAME);
    make(file);
    const before = snapshot(dir);
    expect(() => readStatus(dir)).toThrow(reason);
    const r = spawnSync(process.execPath, [BIN, 'status', '--state-dir', dir], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^nixfleet-agent status: cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `)), '']);
    expect(r.stderr).toMatch(reason);
    expect(snapshot(dir)).toEqual(before);
  });
});

// A corrupt or foreign database file is moved aside (renamed with a clock
// stamp), a clear error line is logged and a fresh database is started.
// Errors that are not corruption (here: a lock held by another process) must
// leave the file alone.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentStore, DB_FILE_NAME } from '../../src/io/store';
import { StoreError } from '../../src/ports/store';
import { openStore, recordingLogger, tempDir, thrown } from './support';

const fill = (store: AgentStore, n: number): void => {
  const from = store.lastSeq('ch@a');
  for (let seq = from + 1; seq <= from + n; seq++) {
    store.enqueue({ rolloutId: 'ch@a', seq, kind: 'ProbeResult', durable: true, envelope: { seq, pad: 'p'.repeat(400) } });
  }
};

describe('corrupt database file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('corrupt');
    file = path.join(dir, DB_FILE_NAME);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // base names of moved-aside databases (their -wal/-shm travel with them)
  const asideFiles = () =>
    fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(`${DB_FILE_NAME}.corrupt-`) && !/-(wal|shm)$/.test(n))
      .sort();

  const expectFreshAfterMoveAside = (original: Buffer, reason: RegExp) => {
    const { store, log } = openStore(dir, { clock: () => '2025-03-04T05:06:07.890Z' });
    const aside = asideFiles();
    expect(aside).toEqual([`${DB_FILE_NAME}.corrupt-2025-03-04T05-06-07-890Z`]);
    expect(fs.readFileSync(path.join(dir, aside[0] ?? ''))).toEqual(original);
    const line = log.lines.find((l) => l.level === 'error');
    expect(line?.message).toMatch(/moved it aside and started a fresh one/);
    expect(line?.fields).toMatchObject({ file, movedTo: path.join(dir, aside[0] ?? '') });
    expect(String(line?.fields?.['reason'])).toMatch(reason);
    // the fresh database works and starts from nothing
    expect(store.stats()).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 0 });
    store.enqueue({ rolloutId: 'ch@a', seq: 1, kind: 'k', durable: true, envelope: { seq: 1 } });
    expect(store.seqCounters()).toEqual({ 'ch@a': 1 });
    store.close();
  };

  it('moves aside a file that is not a database at all', () => {
    const garbage = Buffer.alloc(10_000, 0x5a);
    fs.writeFileSync(file, garbage);
    expectFreshAfterMoveAside(garbage, /NOTADB|not a database/);
  });

  it('moves aside a database with a damaged b-tree page', () => {
    const { store } = openStore(dir);
    fill(store, 200);
    store.close();
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(10 * 4096);
    bytes.fill(0xa7, 6 * 4096, 6 * 4096 + 2048); // half of page 7 (not the header page)
    fs.writeFileSync(file, bytes);
    expectFreshAfterMoveAside(bytes, /quick_check|malformed|CORRUPT/);
  });

  it('moves aside a truncated database', () => {
    const { store } = openStore(dir);
    fill(store, 200);
    store.close();
    const bytes = fs.readFileSync(file).subarray(0, 5 * 4096);
    fs.writeFileSync(file, bytes);
    expectFreshAfterMoveAside(bytes, /quick_check|malformed|CORRUPT/);
  });

  it('moves the WAL aside with it, so the fresh database never replays it', () => {
    // a valid WAL with a committed, uncheckpointed change to page 2 only, so
    // that SQLite still reads the (garbage) header page from the main file
    const other = new Database(path.join(dir, 'other.db'));
    other.pragma('journal_mode = WAL');
    other.pragma('wal_autocheckpoint = 0');
    other.exec('CREATE TABLE stale (v); INSERT INTO stale VALUES (42);');
    other.pragma('wal_checkpoint(TRUNCATE)');
    other.exec('INSERT INTO stale VALUES (43)');
    const wal = fs.readFileSync(path.join(dir, 'other.db-wal'));
    fs.writeFileSync(file, Buffer.alloc(8192, 1));
    fs.writeFileSync(`${file}-wal`, wal);
    other.close();
    const { store } = openStore(dir, { clock: () => 'T1' });
    store.close();
    expect(asideFiles()).toEqual([`${DB_FILE_NAME}.corrupt-T1`]);
    expect(fs.readFileSync(path.join(dir, `${DB_FILE_NAME}.corrupt-T1-wal`))).toEqual(wal);
    const fresh = new Database(file, { readonly: true });
    expect(fresh.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'stale'").get()).toEqual({ n: 0 });
    fresh.close();
  });

  it('moves aside a database written by a newer agent (schema version too new)', () => {
    const { store } = openStore(dir);
    store.close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const { store: fresh, log } = openStore(dir, { clock: () => 'T2' });
    expect(asideFiles()).toEqual([`${DB_FILE_NAME}.corrupt-T2`]);
    expect(String(log.lines.find((l) => l.level === 'error')?.fields?.['reason'])).toMatch(/schema version 99 is newer/);
    fresh.close();
  });

  it('keeps only the newest moved-aside copies, and never overwrites one with the same stamp', () => {
    for (const stamp of ['T1', 'T2', 'T2', 'T3', 'T4']) {
      fs.writeFileSync(file, `garbage ${stamp}`.padEnd(4096, '!'));
      openStore(dir, { clock: () => stamp }).store.close();
    }
    expect(asideFiles()).toEqual([`${DB_FILE_NAME}.corrupt-T2-1`, `${DB_FILE_NAME}.corrupt-T3`, `${DB_FILE_NAME}.corrupt-T4`]);
  });

  it('leaves a healthy but locked database alone and reports a typed error', () => {
    const { store } = openStore(dir);
    fill(store, 3);
    store.close();
    // another process (here: connection) holds the file exclusively
    const holder = new Database(file);
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('DELETE FROM outbound WHERE 0');
    const e = thrown(() => AgentStore.open({ stateDir: dir, logger: recordingLogger(), clock: () => 'T' }));
    holder.close();
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe('io');
    expect((e as StoreError).message).toMatch(/SQLITE_BUSY/);
    expect(asideFiles()).toEqual([]);
    const { store: again } = openStore(dir);
    expect(again.stats().queued).toBe(3);
    again.close();
  });
});

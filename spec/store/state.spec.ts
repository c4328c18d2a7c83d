// The agent state kept beside the queue: confirmed closure, verified
// manifests, certificate metadata, and the schema's migrations.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentStore, DB_FILE_NAME, SCHEMA_VERSION } from '../../src/io/store';
import { openDatabase } from '../../src/io/store/open';
import { MIGRATIONS } from '../../src/io/store/schema';
import { StoreError } from '../../src/ports/store';
import { logicalClock, openStore, recordingLogger, tempDir, thrown } from './support';

describe('agent state', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('state');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts empty and keeps every value across a reopen', () => {
    let { store } = openStore(dir);
    expect(store.lastConfirmedClosure()).toBeUndefined();
    expect(store.certificate()).toBeUndefined();
    expect(store.manifest('ch@a')).toBeUndefined();
    store.confirmClosure({ closure: 'aaa-nixos-system', confirmedAt: '2025-01-01T00:00:00Z' });
    store.confirmClosure({ closure: 'bbb-nixos-system', confirmedAt: '2025-01-02T00:00:00.123456789Z' });
    const cert = { serial: '01ab', fingerprint: 'f'.repeat(64), notBefore: '2025-01-01T00:00:00Z', notAfter: '2025-04-01T00:00:00Z' };
    store.putCertificate(cert);
    // a view into a larger buffer: only the viewed bytes must be stored
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    store.putManifest({
      rolloutId: 'ch@a',
      raw: backing.subarray(2, 5),
      signature: new Uint8Array([0xde, 0xad]),
      verifiedAt: '2025-01-01T00:00:01Z',
    });
    store.close();
    ({ store } = openStore(dir));
    expect(store.lastConfirmedClosure()).toEqual({ closure: 'bbb-nixos-system', confirmedAt: '2025-01-02T00:00:00.123456789Z' });
    expect(store.certificate()).toEqual(cert);
    const m = store.manifest('ch@a');
    expect(Array.from(m?.raw ?? [])).toEqual([1, 2, 3]);
    expect(Array.from(m?.signature ?? [])).toEqual([0xde, 0xad]);
    expect(m?.verifiedAt).toBe('2025-01-01T00:00:01Z');
    store.close();
  });

  it('replaces the rollout records atomically, keeps them across a reopen, refuses too many', () => {
    let { store } = openStore(dir);
    expect(store.rollouts()).toEqual([]);
    const row = (id: string, state: string) => ({ rolloutId: id, record: JSON.stringify({ rolloutId: id, state }), updatedAt: '2025-01-01T00:00:00Z' });
    store.saveRollouts([row('a@1', 'Soaking'), row('b@1', 'Pending')]);
    store.saveRollouts([row('b@1', 'Activating'), row('c@1', 'Pending')]);
    store.close();
    ({ store } = openStore(dir));
    expect(store.rollouts()).toEqual([row('b@1', 'Activating'), row('c@1', 'Pending')]);
    const tooMany = Array.from({ length: 257 }, (_, i) => row(`r${i}@1`, 'Pending'));
    expect(thrown(() => store.saveRollouts(tooMany))).toMatchObject({ code: 'too-large' });
    expect(store.rollouts()).toHaveLength(2);
    store.close();
  });

  it('atomically: the events and records of a turn land together, or neither does', () => {
    const { store } = openStore(dir);
    let seq = 0;
    const enqueue = () => {
      seq += 1;
      store.enqueue({ rolloutId: 'r@1', seq, kind: 'Converged', durable: true, envelope: { seq } });
    };
    const row = { rolloutId: 'r@1', record: '{"state":"Converged"}', updatedAt: '2025-01-01T00:00:00Z' };
    store.atomically(() => {
      enqueue();
      store.saveRollouts([row]);
    });
    expect([store.stats().queued, store.rollouts().length]).toEqual([1, 1]);
    expect(
      thrown(() =>
        store.atomically(() => {
          enqueue();
          store.saveRollouts([]);
          throw new Error('killed halfway');
        }),
      ),
    ).toBeDefined();
    expect([store.stats().queued, store.rollouts().length, store.lastSeq('r@1')]).toEqual([1, 1, 1]);
    store.close();
  });

  it('keeps only the most recently stored manifests and refuses oversized ones', () => {
    const { store } = openStore(dir, { limits: { maxCachedManifests: 2, maxManifestBytes: 10 } });
    const put = (r: string) => store.putManifest({ rolloutId: r, raw: new Uint8Array([1]), signature: new Uint8Array([2]), verifiedAt: 't' });
    put('ch@1');
    put('ch@2');
    put('ch@1'); // refreshed: now ch@2 is the least recently stored
    put('ch@3');
    expect(store.manifest('ch@1')).toBeDefined();
    expect(store.manifest('ch@2')).toBeUndefined();
    expect(store.manifest('ch@3')).toBeDefined();
    const e = thrown(() => store.putManifest({ rolloutId: 'ch@4', raw: new Uint8Array(11), signature: new Uint8Array(0), verifiedAt: 't' }));
    expect((e as StoreError).code).toBe('too-large');
    expect((thrown(() => store.confirmClosure({ closure: '', confirmedAt: 't' })) as StoreError).code).toBe('invalid-argument');
    store.close();
  });

  it('prunes the oldest idle seq counters beyond the cap, never one with queued events', () => {
    const { store } = openStore(dir, { limits: { maxSeqCounters: 3 } });
    const put = (rolloutId: string, seq: number) => store.enqueue({ rolloutId, seq, kind: 'k', durable: true, envelope: { seq } }).id;
    put('ch@busy', 1);
    store.ack(put('ch@idle1', 5));
    store.ack(put('ch@idle2', 6));
    put('ch@new', 1); // 4th counter: drops ch@idle1, the oldest idle one
    expect(store.lastSeq('ch@busy')).toBe(1);
    expect(store.lastSeq('ch@idle1')).toBe(0);
    expect(store.lastSeq('ch@idle2')).toBe(6);
    expect(store.lastSeq('ch@new')).toBe(1);
    store.close();
  });

  it('opens the newest schema in WAL mode with synchronous=FULL and a size ceiling', () => {
    const db = openDatabase({ stateDir: dir, logger: recordingLogger(), clock: logicalClock(), maxDatabaseBytes: 1 << 20 });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('max_page_count', { simple: true })).toBe((1 << 20) / 4096);
    db.close();
  });

  it('applies migrations in order, each atomically with its version bump', () => {
    const open = (migrations: { version: number; sql: string }[]) =>
      AgentStore.open({ stateDir: dir, logger: recordingLogger(), clock: logicalClock(), migrations });
    const base = [...MIGRATIONS];
    open(base).close();
    // the next version fails halfway: its first statement must not survive
    const bad = { version: base.length + 1, sql: 'CREATE TABLE extra (x); INSERT INTO no_such_table VALUES (1);' };
    expect(thrown(() => open([...base, bad]))).toBeInstanceOf(StoreError);
    const db = new Database(path.join(dir, DB_FILE_NAME));
    expect(db.pragma('user_version', { simple: true })).toBe(base.length);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'extra'").get()).toEqual({ n: 0 });
    db.close();
    const good = { version: base.length + 1, sql: 'CREATE TABLE extra (x);' };
    open([...base, good]).close();
    const after = new Database(path.join(dir, DB_FILE_NAME));
    expect(after.pragma('user_version', { simple: true })).toBe(base.length + 1);
    after.close();
  });
});

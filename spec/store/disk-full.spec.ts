// Disk full on enqueue is a typed error the caller sees, never a crash, and
// the store keeps working once space is freed.
//
// How the disk is filled: SQLite's max_page_count (our maxDatabaseBytes
// ceiling) makes SQLite fail the write with SQLITE_FULL, the same code and
// the same rollback path it takes when write() returns ENOSPC. A real full
// file system would need a mount, which an unprivileged CI cannot make.
import * as fs from 'node:fs';
import { storePort } from '../../src/io/store';
import { StoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, sequencer, tempDir, thrown } from './support';

let next = sequencer();
const big = (rolloutId: string, seq = next(rolloutId)): EnqueueRequest => ({
  rolloutId,
  seq,
  kind: 'ProbeResult',
  durable: true,
  envelope: { rolloutId, event: { kind: 'ProbeResult', seq, pad: 'd'.repeat(3000) } },
});

describe('disk full', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('full');
    next = sequencer();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives disk-full to the caller, writes nothing for that call, and recovers after acks', () => {
    const { store } = openStore(dir, { limits: { maxDatabaseBytes: 40 * 4096 } });
    const ok: number[] = [];
    let failure: unknown;
    for (let i = 0; i < 100 && failure === undefined; i++) {
      try {
        ok.push(store.enqueue(big('ch@a')).id);
      } catch (e) {
        failure = e;
      }
    }
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).code).toBe('disk-full');
    expect((failure as StoreError).message).toMatch(/SQLITE_FULL/);
    // the failed enqueue left no trace and recorded no seq
    expect(store.stats().queued).toBe(ok.length);
    expect(store.lastSeq('ch@a')).toBe(ok.length);
    expect(store.pending(1000)).toHaveLength(ok.length);
    // through the port the same typed error is thrown to the applier
    const viaPort = thrown(() => storePort(store).enqueueNow(big('ch@a', ok.length + 1)));
    expect((viaPort as StoreError).code).toBe('disk-full');
    // draining frees pages; the same seq goes in now
    ok.slice(0, 5).forEach((id) => store.ack(id));
    store.enqueue(big('ch@a', ok.length + 1));
    expect(store.lastSeq('ch@a')).toBe(ok.length + 1);
    store.close();
  });

  it('gives disk-full from the state tables too', () => {
    const { store } = openStore(dir, { limits: { maxDatabaseBytes: 20 * 4096 } });
    const e = thrown(() =>
      store.putManifest({ rolloutId: 'ch@a', raw: new Uint8Array(200 * 1024), signature: new Uint8Array(64), verifiedAt: 't' }),
    );
    expect((e as StoreError).code).toBe('disk-full');
    expect(store.manifest('ch@a')).toBeUndefined();
    store.close();
  });
});

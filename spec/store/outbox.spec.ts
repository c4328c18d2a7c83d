// The outbox: events the disk refuses are held in memory, in order, with
// the reducer's seqs; the drainer sees them after the disk's rows; they move to the
// disk as soon as it takes writes again; a failed turn commit puts that turn's
// events back in front of them. The disk fills through SQLite's page ceiling
// (maxDatabaseBytes), which fails writes with SQLITE_FULL exactly as ENOSPC does.
import * as fs from 'node:fs';
import { Outbox, type AgentStore } from '../../src/io/store';
import { StoreError, type EnqueueRequest } from '../../src/ports/store';
import { logicalClock, openStore, recordingLogger, sequencer, tempDir } from './support';

let next = sequencer();
const event = (rolloutId: string, kind: string, pad = 0, durable = true, seq = next(rolloutId)): EnqueueRequest => ({
  rolloutId,
  seq,
  kind,
  durable,
  envelope: { hostname: 'web-01', rolloutId, event: { kind, seq, pad: 'p'.repeat(pad) } },
});
const seqOf = (body: string) => (JSON.parse(body) as { event: { seq: number } }).event.seq;
const onDisk = (store: AgentStore) => store.pending(10).map((e) => [e.kind, e.seq]);
const THREE_IN_ORDER = [
  ['DispatchAck', 1],
  ['ActivationStarted', 2],
  ['ActivationCompleted', 3],
];

describe('outbox', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('outbox');
    next = sequencer();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A store whose disk is full after a few big events; returns their ids (acking them frees the disk). */
  const fullDisk = (rolloutId = 'filler@a') => {
    const { store } = openStore(dir, { limits: { maxDatabaseBytes: 40 * 4096 } });
    const log = recordingLogger();
    const outbox = new Outbox(store, log, logicalClock(), 5);
    const filler: number[] = [];
    for (;;) {
      try {
        filler.push(store.enqueue(event(rolloutId, 'ProbeResult', 3000)).id);
      } catch (e) {
        expect((e as StoreError).code).toBe('disk-full');
        break;
      }
    }
    return { store, outbox, log, filler };
  };

  it('passes through to the disk while it takes writes', () => {
    const { store } = openStore(dir);
    const outbox = new Outbox(store, recordingLogger(), logicalClock());
    const a = outbox.enqueue(event('ch@a', 'DispatchAck'));
    expect(a).toMatchObject({ evicted: 0 });
    expect(store.lastSeq('ch@a')).toBe(1);
    expect(a.id).toBeGreaterThan(0);
    expect(outbox.pending(10).map((e) => e.id)).toEqual([a.id]);
    expect(outbox.stats()).toMatchObject({ queued: 1, held: 0 });
    store.close();
  });

  it('holds what a full disk refuses, with its seqs, after the disk rows; moves it to disk once space is freed', () => {
    const { store, outbox, log, filler } = fullDisk();
    const ack = outbox.enqueue(event('ch@a', 'DispatchAck', 2000));
    const started = outbox.enqueue(event('ch@a', 'ActivationStarted', 2000));
    expect([ack.id, started.id].every((id) => id < 0)).toBe(true);
    expect(outbox.stats()).toMatchObject({ held: 2, queued: filler.length + 2 });
    expect(log.lines.filter((l) => l.message === 'the disk refused an event: held in memory')).toHaveLength(2);
    // the drainer sees disk rows first, then the held events in order
    const pending = outbox.pending(1000);
    expect(pending.slice(0, filler.length).map((e) => e.id)).toEqual(filler);
    expect(pending.slice(filler.length).map((e) => [e.kind, seqOf(e.body)])).toEqual([
      ['DispatchAck', 1],
      ['ActivationStarted', 2],
    ]);
    // the CP takes the filler: pages free up, the next call moves the held events to disk
    filler.forEach((id) => expect(outbox.ack(id)).toBe(true));
    const after = outbox.pending(1000);
    expect(after.every((e) => e.id > 0)).toBe(true);
    expect(after.map((e) => [e.kind, e.seq])).toEqual([
      ['DispatchAck', 1],
      ['ActivationStarted', 2],
    ]);
    expect(outbox.stats().held).toBe(0);
    expect(store.lastSeq('ch@a')).toBe(2);
    expect(outbox.enqueue(event('ch@a', 'ActivationCompleted')).id).toBeGreaterThan(0);
    expect(store.lastSeq('ch@a')).toBe(3);
    expect(log.lines.filter((l) => l.message === 'no event held in memory any more').map((l) => l.fields)).toEqual([{ last: 'written to disk' }]);
    store.close();
  });

  it('a held event acked from memory is gone; one dead-lettered from memory is logged with its body', () => {
    const { store, outbox, log } = fullDisk();
    const a = outbox.enqueue(event('ch@a', 'DispatchAck', 2000));
    const b = outbox.enqueue(event('ch@a', 'ActivationStarted', 2000));
    expect(outbox.ack(a.id)).toBe(true);
    expect(outbox.ack(a.id)).toBe(false);
    expect(outbox.deadLetter(b.id, 'HTTP 400: nope')).toBe(true);
    expect(outbox.stats().held).toBe(0);
    const dead = log.lines.find((l) => l.message.startsWith('outbound event dead-lettered from memory'));
    expect(dead?.fields).toMatchObject({ rolloutId: 'ch@a', seq: 2, reason: 'HTTP 400: nope' });
    store.close();
  });

  it('holds the reducer’s seqs as they are and refuses one it holds already; the disk refuses one it has', () => {
    const { store, outbox, log, filler } = fullDisk('ch@a');
    const onDisk = store.lastSeq('ch@a');
    outbox.enqueue(event('ch@b', 'X', 2000, true, 1));
    outbox.enqueue(event('ch@b', 'Y', 2000, true, 7));
    expect(() => outbox.enqueue(event('ch@b', 'Z', 2000, true, 7))).toThrow(expect.objectContaining({ code: 'seq-reused' }));
    // held with a seq the disk already has (a bug upstream): refused when it moves to disk, loudly
    outbox.enqueue(event('ch@a', 'Stale', 2000, true, onDisk));
    expect(outbox.pending(1000).filter((e) => e.id < 0).map((e) => `${e.rolloutId}:${e.seq}`)).toEqual(['ch@b:1', 'ch@b:7', `ch@a:${onDisk}`]);
    filler.forEach((id) => outbox.ack(id));
    outbox.pending(10); // the next call moves the held events to disk
    expect(outbox.stats().held).toBe(0);
    expect(store.pending(10).map((e) => `${e.rolloutId}:${e.seq}`)).toEqual(['ch@b:1', 'ch@b:7']);
    expect(log.lines.find((l) => l.message.startsWith('event LOST'))?.fields).toMatchObject({ rolloutId: 'ch@a', seq: onDisk, code: 'seq-reused' });
    store.close();
  });

  it('is bounded: drops the oldest probe chatter first, then refuses with disk-full', () => {
    const { store, outbox, log } = fullDisk();
    outbox.enqueue(event('ch@a', 'ProbeResult', 2000, false));
    for (let i = 0; i < 4; i++) outbox.enqueue(event('ch@a', 'Durable', 2000));
    const sixth = outbox.enqueue(event('ch@a', 'Durable', 2000));
    expect(sixth.evicted).toBe(1);
    expect(outbox.pending(1000).filter((e) => e.id < 0).map((e) => e.kind)).toEqual(['Durable', 'Durable', 'Durable', 'Durable', 'Durable']);
    let refused: unknown;
    try {
      outbox.enqueue(event('ch@a', 'Durable', 2000));
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).code).toBe('disk-full');
    expect(outbox.stats().held).toBe(5);
    expect(log.lines.some((l) => l.message === 'held events over capacity: dropped one')).toBe(true);
    store.close();
  });

  it('a turn whose commit fails puts its events back in front of the held ones, in order, with the same seqs', () => {
    const { store } = openStore(dir);
    const log = recordingLogger();
    const outbox = new Outbox(store, log, logicalClock());
    expect(() =>
      outbox.atomically(() => {
        outbox.enqueue(event('ch@a', 'DispatchAck'));
        outbox.enqueue(event('ch@a', 'ActivationStarted'));
        throw new StoreError('disk-full', 'commit: SQLITE_FULL: database or disk is full');
      }),
    ).toThrow('SQLITE_FULL');
    expect(store.pending(10)).toEqual([]);
    expect(store.lastSeq('ch@a')).toBe(0);
    expect(outbox.stats()).toMatchObject({ held: 2, queued: 2 });
    expect(log.lines.some((l) => l.message.startsWith('commit failed: its events are held in memory'))).toBe(true);
    // the next call writes them first, with the seqs the reducer already used
    outbox.enqueue(event('ch@a', 'ActivationCompleted'));
    expect(onDisk(store)).toEqual(THREE_IN_ORDER);
    store.close();
  });

  it('when SQLite rolls the whole turn back mid-way, nothing later in the turn is written on its own', () => {
    const { store } = openStore(dir);
    const outbox = new Outbox(store, recordingLogger(), logicalClock());
    // What SQLite may do on SQLITE_FULL/IOERR: undo the transaction, not just the statement.
    const sqliteRollsBack = () => (store as unknown as { db: { exec(sql: string): void } }).db.exec('ROLLBACK');
    expect(() =>
      outbox.atomically(() => {
        outbox.enqueue(event('ch@a', 'DispatchAck'));
        sqliteRollsBack();
        const started = outbox.enqueue(event('ch@a', 'ActivationStarted'));
        expect(started.id).toBeLessThan(0); // held, not committed in autocommit
        expect(() => store.saveRollouts([{ rolloutId: 'ch@a', record: '{}', updatedAt: 't' }])).toThrow(/rolled the enclosing transaction back/);
      }),
    ).toThrow();
    expect(store.pending(10)).toEqual([]);
    expect(store.rollouts()).toEqual([]);
    expect(outbox.stats()).toMatchObject({ held: 2 });
    outbox.enqueue(event('ch@a', 'ActivationCompleted'));
    expect(onDisk(store)).toEqual(THREE_IN_ORDER);
    store.close();
  });

  it('refuses what a later write cannot fix (too large) instead of holding it', () => {
    const { store } = openStore(dir, { limits: { maxEnvelopeBytes: 1024 } });
    const outbox = new Outbox(store, recordingLogger(), logicalClock());
    expect(() => outbox.enqueue(event('ch@a', 'Big', 5000))).toThrow(StoreError);
    expect(outbox.stats().held).toBe(0);
    store.close();
  });
});

// The overflow policy (limits.ts, docs/store.md): when the queue is full,
// evict the oldest non-durable events in a batch; if only durable events are
// left, refuse the new one with `queue-full` and keep everything queued.
import * as fs from 'node:fs';
import { StoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, sequencer, tempDir, thrown } from './support';

let next = sequencer();
const event = (rolloutId: string, durable: boolean, pad = 0): EnqueueRequest => {
  const seq = next(rolloutId);
  const kind = durable ? 'ActivationCompleted' : 'ProbeResult';
  return { rolloutId, seq, kind, durable, envelope: { rolloutId, event: { kind, seq, pad: 'x'.repeat(pad) } } };
};

describe('queue overflow', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('overflow');
    next = sequencer();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('evicts the oldest non-durable events, a batch at a time, with one warning per batch', () => {
    const { store, log } = openStore(dir, { limits: { maxQueuedEvents: 10, evictionBatch: 3 } });
    // interleave: D N D N ... so durable events are the oldest of all
    for (let i = 0; i < 5; i++) {
      store.enqueue(event('ch@a', true));
      store.enqueue(event('ch@b', false));
    }
    expect(store.stats().queued).toBe(10);
    const full = store.enqueue(event('ch@a', true));
    expect(full.evicted).toBe(3);
    expect(store.stats().queued).toBe(8);
    // ch@b seqs 1–3 are gone; every durable event is still there
    const left = store.pending(100).map((p) => `${p.rolloutId}:${p.seq}`);
    expect(left).toEqual(['ch@a:1', 'ch@a:2', 'ch@a:3', 'ch@a:4', 'ch@b:4', 'ch@a:5', 'ch@b:5', 'ch@a:6']);
    const warnings = log.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ evicted: 3, oldestEvicted: { rolloutId: 'ch@b', seq: 1, kind: 'ProbeResult' } });
    // the batch left room: the next two enqueues evict nothing
    expect(store.enqueue(event('ch@b', false)).evicted).toBe(0);
    expect(store.enqueue(event('ch@b', false)).evicted).toBe(0);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    store.close();
  });

  it('refuses with queue-full once only durable events remain, consuming no seq and losing nothing', () => {
    const { store } = openStore(dir, { limits: { maxQueuedEvents: 4, evictionBatch: 2 } });
    for (let i = 0; i < 4; i++) store.enqueue(event('ch@a', true));
    const before = store.pending(100);
    const e = thrown(() => store.enqueue(event('ch@a', true)));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe('queue-full');
    // a non-durable newcomer is refused too: it may not push out transitions
    expect((thrown(() => store.enqueue(event('ch@b', false))) as StoreError).code).toBe('queue-full');
    expect(store.pending(100)).toEqual(before);
    expect(store.lastSeq('ch@a')).toBe(4);
    expect(store.lastSeq('ch@b')).toBe(0);
    store.ack(before[0]?.id ?? 0);
    // room again: the next event goes in (the refused one's seq 5 went with it)
    store.enqueue(event('ch@a', true));
    expect(store.lastSeq('ch@a')).toBe(6);
    store.close();
  });

  it('undoes a partial eviction when the room it makes is not enough', () => {
    const { store } = openStore(dir, { limits: { maxQueuedBytes: 1500, evictionBatch: 1 } });
    store.enqueue(event('ch@a', true, 600));
    store.enqueue(event('ch@b', false, 10)); // the only evictable one, and small
    store.enqueue(event('ch@a', true, 600));
    const before = store.pending(100);
    // evicting ch@b frees ~60 bytes, the newcomer needs ~600: refuse, keep ch@b
    expect((thrown(() => store.enqueue(event('ch@a', true, 600))) as StoreError).code).toBe('queue-full');
    expect(store.pending(100)).toEqual(before);
    expect(store.stats().queued).toBe(3);
    // a small newcomer fits after evicting ch@b
    expect(store.enqueue(event('ch@a', true, 10)).evicted).toBe(1);
    store.close();
  });

  it('bounds the queue in bytes as well as in events', () => {
    const { store } = openStore(dir, { limits: { maxQueuedBytes: 3000, evictionBatch: 1 } });
    for (let i = 0; i < 5; i++) store.enqueue(event('ch@b', false, 500));
    for (let i = 0; i < 5; i++) store.enqueue(event('ch@b', false, 500));
    const { queued, queuedBytes } = store.stats();
    expect(queuedBytes).toBeLessThanOrEqual(3000);
    expect(queued).toBeLessThan(10);
    // the newest survive, the oldest went
    const seqs = store.pending(100).map((p) => p.seq);
    expect(seqs[seqs.length - 1]).toBe(10);
    expect(seqs[0]).toBe(10 - queued + 1);
    store.close();
  });

  it('recounts the queue at open, so the bound holds across restarts', () => {
    let { store } = openStore(dir, { limits: { maxQueuedEvents: 3, evictionBatch: 1 } });
    for (let i = 0; i < 3; i++) store.enqueue(event('ch@a', true));
    const bytes = store.stats().queuedBytes;
    store.close();
    ({ store } = openStore(dir, { limits: { maxQueuedEvents: 3, evictionBatch: 1 } }));
    expect(store.stats()).toMatchObject({ queued: 3, queuedBytes: bytes });
    expect((thrown(() => store.enqueue(event('ch@a', true))) as StoreError).code).toBe('queue-full');
    store.close();
  });
});

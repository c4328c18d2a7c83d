// The outbound queue on a real SQLite file: the caller's seqs recorded and a
// reused one refused, ordering, ack, and persistence across reopen.
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import { AgentStore } from '../../src/io/store';
import { StoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, recordingLogger, logicalClock, sequencer, tempDir, thrown } from './support';

const envelope = (rolloutId: string, seq: number) => ({ hostname: 'web-01', rolloutId, event: { kind: 'ActivationStarted', seq } });
const at = (rolloutId: string, seq: number, extra: Partial<EnqueueRequest> = {}): EnqueueRequest => ({
  rolloutId,
  seq,
  kind: 'ActivationStarted',
  durable: true,
  envelope: envelope(rolloutId, seq),
  ...extra,
});
let next = sequencer();
const ev = (rolloutId: string, extra: Partial<EnqueueRequest> = {}): EnqueueRequest => at(rolloutId, next(rolloutId), extra);

const seqOf = (body: string): number => (JSON.parse(body) as { event: { seq: number } }).event.seq;

describe('outbound queue', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('queue');
    next = sequencer();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('records the caller’s seq per rollout and stores the envelope as the body', () => {
    const { store } = openStore(dir);
    store.enqueue(ev('stable@a'));
    store.enqueue(ev('stable@a'));
    store.enqueue(ev('canary@b'));
    expect(store.seqCounters()).toEqual({ 'stable@a': 2, 'canary@b': 1 });
    const [first] = store.pending(1);
    expect(first).toMatchObject({ rolloutId: 'stable@a', seq: 1, kind: 'ActivationStarted', durable: true });
    expect(JSON.parse(first?.body ?? '')).toEqual(envelope('stable@a', 1));
    store.close();
  });

  it('drains per rollout by seq and across rollouts by enqueue order', () => {
    const { store } = openStore(dir);
    const order = ['a', 'b', 'a', 'c', 'b', 'a'].map((r) => store.enqueue(ev(`ch@${r}`)));
    const pending = store.pending(100);
    expect(pending.map((p) => p.id)).toEqual(order.map((o) => o.id));
    expect(pending.map((p) => `${p.rolloutId}:${p.seq}`)).toEqual(['ch@a:1', 'ch@b:1', 'ch@a:2', 'ch@c:1', 'ch@b:2', 'ch@a:3']);
    expect(store.pending(2)).toHaveLength(2);
    store.close();
  });

  it('acks remove exactly one event, once', () => {
    const { store } = openStore(dir);
    const a = store.enqueue(ev('ch@a'));
    const b = store.enqueue(ev('ch@a'));
    expect(store.ack(a.id)).toBe(true);
    expect(store.ack(a.id)).toBe(false);
    expect(store.pending(10).map((p) => p.id)).toEqual([b.id]);
    expect(store.stats()).toMatchObject({ queued: 1 });
    store.close();
  });

  it('refuses a seq at or below the counter, also after everything was acked and the store reopened', () => {
    let { store } = openStore(dir);
    const ids = [1, 2, 3].map(() => store.enqueue(ev('ch@a')));
    ids.forEach((e) => store.ack(e.id));
    store.close();
    ({ store } = openStore(dir));
    for (const seq of [3, 2, 1]) {
      const e = thrown(() => store.enqueue(at('ch@a', seq)));
      expect(e).toBeInstanceOf(StoreError);
      expect((e as StoreError).code).toBe('seq-reused');
    }
    expect(store.stats().queued).toBe(0);
    const later = store.enqueue(at('ch@a', 4));
    expect(later.id).toBeGreaterThan(Math.max(...ids.map((e) => e.id)));
    store.close();
  });

  it('records a seq above the counter as it is (the reducer skipped ahead after a CP snapshot)', () => {
    const { store } = openStore(dir);
    store.enqueue(at('ch@a', 1));
    store.enqueue(at('ch@a', 11));
    expect(store.lastSeq('ch@a')).toBe(11);
    expect(store.pending(10).map((p) => p.seq)).toEqual([1, 11]);
    expect((thrown(() => store.enqueue(at('ch@a', 5))) as StoreError).code).toBe('seq-reused');
    expect(store.lastSeq('ch@unknown')).toBe(0);
    store.close();
  });

  it('writes nothing and records no seq when the envelope is not JSON', () => {
    const { store } = openStore(dir);
    store.enqueue(at('ch@a', 1));
    const failing = thrown(() => store.enqueue(at('ch@a', 2, { envelope: { n: BigInt(1) } })));
    expect(failing).toBeInstanceOf(StoreError);
    expect((failing as StoreError).code).toBe('invalid-argument');
    expect((thrown(() => store.enqueue(at('ch@a', 2, { envelope: undefined }))) as StoreError).code).toBe('invalid-argument');
    expect(store.lastSeq('ch@a')).toBe(1);
    expect(store.stats().queued).toBe(1);
    store.enqueue(at('ch@a', 2));
    expect(store.lastSeq('ch@a')).toBe(2);
    store.close();
  });

  it('refuses an envelope over the size cap with a typed error', () => {
    const { store } = openStore(dir, { limits: { maxEnvelopeBytes: 100 } });
    const e = thrown(() => store.enqueue(ev('ch@a', { envelope: 'x'.repeat(200) })));
    expect((e as StoreError).code).toBe('too-large');
    expect(store.stats()).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 0 });
    store.close();
  });

  it('rejects bad arguments with invalid-argument, and calls after close with closed', () => {
    const { store } = openStore(dir);
    const codes = [
      () => store.enqueue(at('ch@a', 0)),
      () => store.enqueue(at('ch@a', 1.5)),
      () => store.pending(0),
      () => store.ack(0),
      () => store.enqueue(ev('')),
      () => store.enqueue(at('ch@a', -3)),
    ].map((f) => (thrown(f) as StoreError).code);
    expect(codes).toEqual(Array(6).fill('invalid-argument'));
    store.close();
    store.close();
    const e = thrown(() => store.pending(1));
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe('closed');
  });

  it('records the injected clock, not the wall clock', () => {
    const { store } = openStore(dir, { clock: () => '2001-02-03T04:05:06Z' });
    store.enqueue(ev('ch@a'));
    expect(store.pending(1)[0]?.enqueuedAt).toBe('2001-02-03T04:05:06Z');
    store.close();
  });

  // Model-based: random enqueues (some skipping ahead), reused seqs, acks and
  // reopens against a plain in-memory model of what the queue must hold.
  it('matches a simple model under random operations (property)', () => {
    type Op =
      | { op: 'enqueue'; r: number }
      | { op: 'ackHead' }
      | { op: 'ackAny'; k: number }
      | { op: 'jump'; r: number; by: number }
      | { op: 'reuse'; r: number; back: number }
      | { op: 'reopen' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant('enqueue' as const), r: fc.nat(2) }), weight: 5 },
      { arbitrary: fc.constant({ op: 'ackHead' as const }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant('ackAny' as const), k: fc.nat(50) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant('jump' as const), r: fc.nat(2), by: fc.integer({ min: 2, max: 9 }) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant('reuse' as const), r: fc.nat(2), back: fc.nat(3) }), weight: 1 },
      { arbitrary: fc.constant({ op: 'reopen' as const }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const d = tempDir('model');
        const open = () => AgentStore.open({ stateDir: d, logger: recordingLogger(), clock: logicalClock() });
        let store = open();
        const counter = [0, 0, 0];
        const model: { id: number; r: string; seq: number }[] = [];
        const seen = new Set<string>();
        try {
          for (const o of ops) {
            if (o.op === 'enqueue' || o.op === 'jump') {
              const r = `ch@${o.r}`;
              const seq = (counter[o.r] ?? 0) + (o.op === 'jump' ? o.by : 1);
              const { id } = store.enqueue(at(r, seq));
              counter[o.r] = seq;
              expect(seen.has(`${r}:${seq}`)).toBe(false);
              seen.add(`${r}:${seq}`);
              model.push({ id, r, seq });
            } else if (o.op === 'reuse' && (counter[o.r] ?? 0) - o.back >= 1) {
              expect((thrown(() => store.enqueue(at(`ch@${o.r}`, (counter[o.r] ?? 0) - o.back))) as StoreError).code).toBe('seq-reused');
            } else if (o.op === 'ackHead' && model.length > 0) {
              expect(store.ack(model.shift()?.id ?? 0)).toBe(true);
            } else if (o.op === 'ackAny' && model.length > 0) {
              const [gone] = model.splice(o.k % model.length, 1);
              expect(store.ack(gone?.id ?? 0)).toBe(true);
            } else if (o.op === 'reopen') {
              store.close();
              store = open();
            }
            const pending = store.pending(1000);
            expect(pending.map((p) => [p.id, p.rolloutId, p.seq, seqOf(p.body)])).toEqual(
              model.map((m) => [m.id, m.r, m.seq, m.seq]),
            );
            expect(store.stats().queued).toBe(model.length);
          }
        } finally {
          store.close();
          fs.rmSync(d, { recursive: true, force: true });
        }
      }),
      { seed: 4242, numRuns: 60 },
    );
  });
});

// The outbound queue on a real SQLite file: seq assignment, ordering, ack,
// the seq floor, and persistence across reopen.
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import { AgentStore } from '../../src/io/store';
import { StoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, recordingLogger, logicalClock, tempDir, thrown } from './support';

const ev = (rolloutId: string, extra: Partial<EnqueueRequest> = {}): EnqueueRequest => ({
  rolloutId,
  kind: 'ActivationStarted',
  durable: true,
  build: (seq) => ({ hostname: 'web-01', rolloutId, event: { kind: 'ActivationStarted', seq } }),
  ...extra,
});

const seqOf = (body: string): number => (JSON.parse(body) as { event: { seq: number } }).event.seq;

describe('outbound queue', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('queue');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('assigns seqs from 1 per rollout and stores build(seq) as the body', () => {
    const { store } = openStore(dir);
    expect(store.enqueue(ev('stable@a')).seq).toBe(1);
    expect(store.enqueue(ev('stable@a')).seq).toBe(2);
    expect(store.enqueue(ev('canary@b')).seq).toBe(1);
    const [first] = store.pending(1);
    expect(first).toMatchObject({ rolloutId: 'stable@a', seq: 1, kind: 'ActivationStarted', durable: true });
    expect(JSON.parse(first?.body ?? '')).toEqual({
      hostname: 'web-01',
      rolloutId: 'stable@a',
      event: { kind: 'ActivationStarted', seq: 1 },
    });
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

  it('never reuses a seq or an id after everything was acked and the store reopened', () => {
    let { store } = openStore(dir);
    const ids = [1, 2, 3].map(() => store.enqueue(ev('ch@a')));
    ids.forEach((e) => store.ack(e.id));
    store.close();
    ({ store } = openStore(dir));
    const next = store.enqueue(ev('ch@a'));
    expect(next.seq).toBe(4);
    expect(next.id).toBeGreaterThan(Math.max(...ids.map((e) => e.id)));
    store.close();
  });

  it('lets a CP snapshot raise the seq floor but never lower it', () => {
    const { store } = openStore(dir);
    store.enqueue(ev('ch@a'));
    store.enqueue(ev('ch@a'));
    expect(store.raiseSeqFloor('ch@a', 1)).toBe(2); // a lagging snapshot (§18 item 11)
    expect(store.enqueue(ev('ch@a')).seq).toBe(3);
    expect(store.raiseSeqFloor('ch@a', 10)).toBe(10);
    expect(store.enqueue(ev('ch@a')).seq).toBe(11);
    expect(store.raiseSeqFloor('ch@new', 7)).toBe(7);
    expect(store.lastSeq('ch@new')).toBe(7);
    expect(store.enqueue(ev('ch@new')).seq).toBe(8);
    expect(store.lastSeq('ch@unknown')).toBe(0);
    store.close();
  });

  it('honours the caller’s seqAtLeast without going below its own counter', () => {
    const { store } = openStore(dir);
    expect(store.enqueue(ev('ch@a', { seqAtLeast: 5 })).seq).toBe(5);
    expect(store.enqueue(ev('ch@a', { seqAtLeast: 2 })).seq).toBe(6);
    expect(store.enqueue(ev('ch@a')).seq).toBe(7);
    store.close();
  });

  it('writes nothing and consumes no seq when the builder fails or returns no JSON', () => {
    const { store } = openStore(dir);
    store.enqueue(ev('ch@a'));
    const failing = thrown(() =>
      store.enqueue(
        ev('ch@a', {
          build: () => {
            throw new Error('boom');
          },
        }),
      ),
    );
    expect(failing).toBeInstanceOf(StoreError);
    expect((failing as StoreError).code).toBe('invalid-argument');
    expect((thrown(() => store.enqueue(ev('ch@a', { build: () => undefined }))) as StoreError).code).toBe('invalid-argument');
    expect(store.lastSeq('ch@a')).toBe(1);
    expect(store.stats().queued).toBe(1);
    expect(store.enqueue(ev('ch@a')).seq).toBe(2);
    store.close();
  });

  it('refuses an envelope over the size cap with a typed error', () => {
    const { store } = openStore(dir, { limits: { maxEnvelopeBytes: 100 } });
    const e = thrown(() => store.enqueue(ev('ch@a', { build: () => 'x'.repeat(200) })));
    expect((e as StoreError).code).toBe('too-large');
    expect(store.stats()).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 0 });
    store.close();
  });

  it('rejects bad arguments with invalid-argument, and calls after close with closed', () => {
    const { store } = openStore(dir);
    const codes = [
      () => store.raiseSeqFloor('ch@a', -1),
      () => store.raiseSeqFloor('ch@a', 1.5),
      () => store.pending(0),
      () => store.ack(0),
      () => store.enqueue(ev('')),
      () => store.enqueue(ev('ch@a', { seqAtLeast: -3 })),
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

  // Model-based: random enqueues, acks, floor raises and reopens against a
  // plain in-memory model of what the queue must hold.
  it('matches a simple model under random operations (property)', () => {
    type Op =
      | { op: 'enqueue'; r: number }
      | { op: 'ackHead' }
      | { op: 'ackAny'; k: number }
      | { op: 'raise'; r: number; to: number }
      | { op: 'reopen' };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant('enqueue' as const), r: fc.nat(2) }), weight: 5 },
      { arbitrary: fc.constant({ op: 'ackHead' as const }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant('ackAny' as const), k: fc.nat(50) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant('raise' as const), r: fc.nat(2), to: fc.nat(30) }), weight: 1 },
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
            if (o.op === 'enqueue') {
              const r = `ch@${o.r}`;
              const { id, seq } = store.enqueue(ev(r));
              counter[o.r] = (counter[o.r] ?? 0) + 1;
              expect(seq).toBe(counter[o.r]);
              expect(seen.has(`${r}:${seq}`)).toBe(false);
              seen.add(`${r}:${seq}`);
              model.push({ id, r, seq });
            } else if (o.op === 'ackHead' && model.length > 0) {
              expect(store.ack(model.shift()?.id ?? 0)).toBe(true);
            } else if (o.op === 'ackAny' && model.length > 0) {
              const [gone] = model.splice(o.k % model.length, 1);
              expect(store.ack(gone?.id ?? 0)).toBe(true);
            } else if (o.op === 'raise') {
              counter[o.r] = Math.max(counter[o.r] ?? 0, o.to);
              expect(store.raiseSeqFloor(`ch@${o.r}`, o.to)).toBe(counter[o.r]);
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

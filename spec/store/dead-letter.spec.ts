// Poison events (a 4xx that will never succeed) go to the dead-letter table
// with their reason, are logged and counted in stats, and stop blocking the
// events behind them (upstream blocks forever: agent-runtime.md §8.5, §18.13).
import * as fs from 'node:fs';
import { deliveryKind } from '../../src/io/http/decode';
import type { EnqueueRequest } from '../../src/ports/store';
import type { AgentStore } from '../../src/io/store';
import { openStore, sequencer, tempDir } from './support';

let next = sequencer();
const event = (rolloutId: string, kind = 'ActivationStarted'): EnqueueRequest => {
  const seq = next(rolloutId);
  return { rolloutId, seq, kind, durable: true, envelope: { rolloutId, event: { kind, seq } } };
};

// What the outbound source will do per pass: send in order, stop on retry.
const drainOnce = (store: AgentStore, answer: (body: string) => number, sent: string[]): void => {
  for (const e of store.pending(100)) {
    const status = answer(e.body);
    sent.push(`${e.rolloutId}:${e.seq}:${status}`);
    const kind = deliveryKind(status);
    if (kind === 'acked') store.ack(e.id);
    else if (kind === 'poison') store.deadLetter(e.id, `CP answered ${status}`);
    else return;
  }
};

describe('dead letters', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('dead');
    next = sequencer();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('moves a poison head aside so the events behind it are delivered', () => {
    const { store, log } = openStore(dir);
    store.enqueue(event('ch@a'));
    store.enqueue(event('ch@a', 'ProbeResult'));
    store.enqueue(event('ch@a'));
    store.enqueue(event('ch@b'));
    const sent: string[] = [];
    drainOnce(store, (body) => (body.includes('ProbeResult') ? 422 : 200), sent);
    expect(sent).toEqual(['ch@a:1:200', 'ch@a:2:422', 'ch@a:3:200', 'ch@b:1:200']);
    expect(store.pending(10)).toEqual([]);
    expect(store.stats()).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 1 });
    const [dead] = store.deadLetters(10);
    expect(dead).toMatchObject({ rolloutId: 'ch@a', seq: 2, kind: 'ProbeResult', reason: 'CP answered 422' });
    expect(JSON.parse(dead?.body ?? '')).toEqual({ rolloutId: 'ch@a', event: { kind: 'ProbeResult', seq: 2 } });
    const line = log.lines.find((l) => l.level === 'error');
    expect(line?.message).toMatch(/dead-lettered/);
    expect(line?.fields).toMatchObject({ rolloutId: 'ch@a', seq: 2, kind: 'ProbeResult', reason: 'CP answered 422' });
    store.close();
  });

  it('keeps a transient failure at the head (retry), unlike a poison one', () => {
    const { store } = openStore(dir);
    store.enqueue(event('ch@a'));
    store.enqueue(event('ch@a'));
    const sent: string[] = [];
    drainOnce(store, () => 503, sent);
    expect(sent).toEqual(['ch@a:1:503']);
    expect(store.stats()).toMatchObject({ queued: 2, deadLettered: 0 });
    store.close();
  });

  it('dead-letters once; a second call or an unknown id is a no-op', () => {
    const { store } = openStore(dir);
    const e = store.enqueue(event('ch@a'));
    expect(store.deadLetter(e.id, 'bad')).toBe(true);
    expect(store.deadLetter(e.id, 'bad')).toBe(false);
    expect(store.ack(e.id)).toBe(false);
    expect(store.deadLetter(9999, 'bad')).toBe(false);
    expect(store.stats().deadLettered).toBe(1);
    store.close();
  });

  it('truncates long reasons and keeps only the newest dead letters', () => {
    let { store } = openStore(dir, { limits: { maxDeadLetters: 3 } });
    for (let i = 0; i < 5; i++) {
      const e = store.enqueue(event('ch@a'));
      store.deadLetter(e.id, `${i}:${'r'.repeat(10_000)}`);
    }
    store.close();
    ({ store } = openStore(dir, { limits: { maxDeadLetters: 3 } }));
    const dead = store.deadLetters(10);
    expect(dead.map((d) => d.seq)).toEqual([5, 4, 3]);
    expect(dead.every((d) => d.reason.length === 4096)).toBe(true);
    expect(store.stats().deadLettered).toBe(3);
    // a dead-lettered seq is still counted: it is never written again
    expect(store.lastSeq('ch@a')).toBe(5);
    store.close();
  });
});

// The daemon's turn commit against a real SQLite file: a turn's events and
// records land in one transaction or not at all, records are saved with the
// signed intent that binds them, a failed commit is retried by a later turn,
// and an effect applied in the turn (ConfirmClosure) commits with it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { turnCommitter } from '../../src/daemon/turn-commit';
import { AgentStore, Outbox, storePort } from '../../src/io/store';
import type { EnqueueRequest } from '../../src/ports/store';
import { initialAgentState, newPending, type AgentState } from '../../src/reducer';
import { MemoryLogger } from '../fakes/ports';

const t = fromEpochMillis(1_000);
const record = (id: string, target: string, state: 'Pending' | 'Converged') => ({ ...newPending(id, 'web-01', 'stable', target, t, t), state, lastEventSeq: 3 });
const intent = (target: string) => ({ targetClosure: target, previousClosure: 'prior', signedAt: t });
const event = (seq: number, pad = 0): EnqueueRequest => ({ rolloutId: 'stable@a', seq, kind: 'ProbeResult', durable: true, envelope: { seq, pad: 'p'.repeat(pad) } });
const stateWith = (hosts: AgentState['hosts'], intents: AgentState['intents'] = {}): AgentState => ({ ...initialAgentState(), hosts, intents });

describe('turn commit', () => {
  let dir: string;
  let store: AgentStore;
  let logger: MemoryLogger;
  let stamps: number;
  const clock = () => `2025-01-01T00:00:${String(stamps++).padStart(2, '0')}Z`;
  const open = (maxDatabaseBytes?: number) => {
    store = AgentStore.open({ stateDir: dir, logger, clock, ...(maxDatabaseBytes !== undefined ? { limits: { maxDatabaseBytes } } : {}) });
    const outbox = new Outbox(store, logger, clock);
    return { outbox, port: storePort(store, outbox), commit: turnCommitter(outbox, store, logger, clock) };
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-'));
    logger = new MemoryLogger();
    stamps = 0;
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('saves each record with its signed intent; a CP-made record has none', () => {
    const { commit } = open();
    commit(stateWith({ 'stable@a': record('stable@a', 'ta', 'Pending'), 'stable@b': record('stable@b', 'tb', 'Pending') }, { 'stable@a': intent('ta') }), () => undefined);
    const rows = store.rollouts();
    expect(rows.map((r) => [r.rolloutId, r.signedIntent === undefined ? null : (JSON.parse(r.signedIntent) as { targetClosure: string }).targetClosure])).toEqual([
      ['stable@a', 'ta'],
      ['stable@b', null],
    ]);
  });

  it('applies the effects once, inside the transaction: a throw there undoes the turn’s events and records together', () => {
    const { port, commit } = open();
    let applied = 0;
    commit(stateWith({ 'stable@a': record('stable@a', 'ta', 'Pending') }), () => {
      applied += 1;
      port.enqueueNow(event(1));
      throw new Error('killed halfway through the effects');
    });
    expect(applied).toBe(1);
    expect([store.stats().queued, store.rollouts().length]).toEqual([0, 0]);
    expect(logger.lines.some((l) => l.message === 'could not commit this turn')).toBe(true);
  });

  it('writes unchanged records once; a record the disk refused is saved by a later turn that commits', () => {
    const { outbox, port, commit } = open(40 * 4096);
    const state = stateWith({ 'stable@a': record('stable@a', 'ta', 'Pending') });
    commit(state, () => port.enqueueNow(event(1)));
    const first = store.rollouts()[0]?.updatedAt;
    commit(state, () => undefined);
    expect(store.rollouts()[0]?.updatedAt).toBe(first); // same records: not rewritten

    // Fill the disk, then a turn with new records: its event is held, its records are not saved.
    const filler: number[] = [];
    try {
      for (let seq = 2; ; seq++) filler.push(store.enqueue(event(seq, 3000)).id);
    } catch {
      // disk full
    }
    // (a second, large record: the save needs pages the full disk has not got)
    const next = stateWith({ 'stable@a': record('stable@a', 'ta', 'Converged'), 'stable@b': record('stable@b', 't'.repeat(6000), 'Pending') });
    commit(next, () => port.enqueueNow(event(1000)));
    expect(store.rollouts().map((r) => (JSON.parse(r.record) as { state: string }).state)).toEqual(['Pending']);
    expect(outbox.stats().held).toBe(1);
    expect(logger.lines.some((l) => l.message === 'could not save the rollout records' || l.message === 'could not commit this turn')).toBe(true);

    // Space again: the next turn, with the very same records, saves them and moves the held event to disk.
    filler.forEach((id) => store.ack(id));
    commit(next, () => undefined);
    expect(store.rollouts().map((r) => (JSON.parse(r.record) as { state: string }).state)).toEqual(['Converged', 'Pending']);
    commit(next, () => port.pending(10).subscribe());
    expect(outbox.stats().held).toBe(0);
    expect(store.lastSeq('stable@a')).toBe(1000);
  });

  it('a ConfirmClosure applied in the turn commits with it', () => {
    const { port, commit } = open();
    commit(stateWith({}), () => port.confirmNow({ closure: 'ta', confirmedAt: '2025-01-01T00:06:40Z' }));
    expect(store.lastConfirmedClosure()).toEqual({ closure: 'ta', confirmedAt: '2025-01-01T00:06:40Z' });
    commit(stateWith({}), () => {
      port.confirmNow({ closure: 'tb', confirmedAt: '2025-01-01T00:07:00Z' });
      throw new Error('killed');
    });
    expect(store.lastConfirmedClosure()?.closure).toBe('ta');
  });
});

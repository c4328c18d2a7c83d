// The daemon's turn committer against a real store: records are saved with
// the signed intent that binds them, and only a bound record's convergence
// confirms its closure (docs/compatibility.md S4, S8).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { turnCommitter } from '../../src/daemon/run';
import { AgentStore, Outbox } from '../../src/io/store';
import { initialAgentState, newPending, type AgentState } from '../../src/reducer';
import { MemoryLogger } from '../fakes/ports';

const clock = () => fromEpochMillis(1_000);
const record = (id: string, target: string, state: 'Pending' | 'Converged') => ({ ...newPending(id, 'web-01', 'stable', target, clock(), clock()), state, lastEventSeq: 3 });
const intent = (target: string) => ({ targetClosure: target, previousClosure: 'prior', signedAt: clock() });

describe('turn committer', () => {
  let dir: string;
  let store: AgentStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-'));
    store = AgentStore.open({ stateDir: dir, logger: new MemoryLogger(), clock });
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('saves each record with its signed intent; a CP-made record has none', () => {
    const commit = turnCommitter(new Outbox(store, new MemoryLogger(), clock), store, new MemoryLogger());
    const state: AgentState = { ...initialAgentState(), hosts: { 'stable@a': record('stable@a', 'ta', 'Pending'), 'stable@b': record('stable@b', 'tb', 'Pending') }, intents: { 'stable@a': intent('ta') } };
    commit(state, () => undefined);
    const rows = store.rollouts();
    expect(rows.map((r) => [r.rolloutId, r.signedIntent === undefined ? null : (JSON.parse(r.signedIntent) as { targetClosure: string }).targetClosure])).toEqual([
      ['stable@a', 'ta'],
      ['stable@b', null],
    ]);
  });

  it('confirms the closure of a bound record that converges, never of a CP-made one', () => {
    const commit = turnCommitter(new Outbox(store, new MemoryLogger(), clock), store, new MemoryLogger());
    const before: AgentState = { ...initialAgentState(), hosts: { 'stable@a': record('stable@a', 'ta', 'Pending'), 'stable@b': record('stable@b', 'EVIL', 'Pending') }, intents: { 'stable@a': intent('ta') } };
    commit(before, () => undefined);
    commit({ ...before, hosts: { ...before.hosts, 'stable@b': record('stable@b', 'EVIL', 'Converged') } }, () => undefined);
    expect(store.lastConfirmedClosure()).toBeUndefined();
    commit({ ...before, hosts: { 'stable@a': record('stable@a', 'ta', 'Converged'), 'stable@b': record('stable@b', 'EVIL', 'Converged') } }, () => undefined);
    expect(store.lastConfirmedClosure()?.closure).toBe('ta');
  });
});

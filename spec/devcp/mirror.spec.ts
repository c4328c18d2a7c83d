// The development CP's mirror: the agent's own event stream, replayed as
// Remote* events through the same step(), must land the CP in the state the
// agent reached (design §2 invariant 2).
import * as E from 'fp-ts/Either';
import { decodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope } from '../../src/codecs/events';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { emptyMirror, heartbeatRecovery, ingestEvent, openRollout, pendingDispatches, record, snapshots, type MirrorState } from '../../src/devcp/mirror';
import { manifestSet, policyOf, probe } from '../fakes/ports';
import { harness } from '../support/graph-harness';
import { marbles } from '../support/marbles';

const t = fromEpochMillis;
const open = (policy = policyOf('halt')) => openRollout(emptyMirror(), 'stable@r1', 'stable', policy, [{ hostname: 'web-01', targetClosure: 'target-closure', soakMinutes: 5 }], t(0));

function replay(state: MirrorState, bodies: readonly string[], now = t(1_000_000)): MirrorState {
  return bodies.reduce((s, body) => {
    const env = decodeJson(AgentEventEnvelope, body);
    if (E.isLeft(env)) throw new Error(env.left.message);
    return ingestEvent(s, env.right, now);
  }, state);
}

describe('CP mirror', () => {
  it.each([
    ['halt', 'fail-never', 'Converged'],
    ['rollback-and-halt', 'fail-always', 'Reverted'],
  ] as const)('ends where the agent ends (%s, probes %s → %s)', (onHealthFailure, probes, final) => {
    marbles((ts) => {
      const h = harness(ts, { manifests: manifestSet(onHealthFailure), probes: [probe('web')] });
      h.probes.result = () => ({ status: probes === 'fail-always' ? 'fail' : 'pass' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      h.at(() => {
        const cp = replay(open(policyOf(onHealthFailure)), h.queue.history);
        const agent = h.graph.state().hosts['stable@r1'];
        const mirrored = record(cp, 'stable@r1', 'web-01');
        expect(mirrored?.state).toBe(final);
        expect(agent?.state).toBe(final);
        expect(mirrored?.lastEventSeq).toBe(agent?.lastEventSeq);
        expect(cp.log.every((l) => l.outcome === 'applied')).toBe(true);
        if (final === 'Reverted') {
          expect(cp.quarantine).toEqual([
            { channel: 'stable', closure: 'target-closure', reason: expect.stringMatching(/^host web-01 failed rollout stable@r1: enforce probe web failing, sustained until .*; rolled back to prior-closure at /) },
          ]);
        }
        // Replaying everything again changes nothing: every event is a duplicate.
        const again = replay(cp, h.queue.history);
        expect(again.records).toEqual(cp.records);
        expect(again.log.slice(cp.log.length).every((l) => l.outcome === 'duplicate')).toBe(true);
      }, 399_000);
    });
  });

  it('offers a dispatch while the record is Pending, not after the ack, not for a quarantined closure', () => {
    let s = open();
    expect(pendingDispatches(s, 'web-01', t(1)).map((d) => d.rolloutId)).toEqual(['stable@r1']);
    expect(pendingDispatches(s, 'db-01', t(1))).toEqual([]);
    s = ingestEvent(s, { hostname: 'web-01', rolloutId: 'stable@r1', event: { kind: 'DispatchAck', currentClosureAtDispatch: 'prior', receivedAt: t(1), seq: 1 } }, t(1));
    expect(pendingDispatches(s, 'web-01', t(2))).toEqual([]);
    const q = { ...open(), quarantine: [{ channel: 'stable', closure: 'target-closure' }] };
    expect(pendingDispatches(q, 'web-01', t(2))).toEqual([]);
  });

  it('drops events for unknown records and illegal events, and logs why', () => {
    let s = open();
    s = ingestEvent(s, { hostname: 'web-01', rolloutId: 'other@x', event: { kind: 'DispatchAck', currentClosureAtDispatch: 'p', receivedAt: t(1), seq: 1 } }, t(1));
    s = ingestEvent(s, { hostname: 'web-01', rolloutId: 'stable@r1', event: { kind: 'Converged', convergedAt: t(1), currentClosure: 'x', seq: 1 } }, t(1));
    expect(s.log.map((l) => l.outcome)).toEqual(['unknown-record', 'rejected']);
    expect(record(s, 'stable@r1', 'web-01')?.state).toBe('Pending');
  });

  it('heartbeat recovery: a wiped CP (Pending) reaches Converged from current == target', () => {
    const s = heartbeatRecovery(open(), 'web-01', 'target-closure', t(60_000));
    expect(record(s, 'stable@r1', 'web-01')).toMatchObject({ state: 'Converged', lastEventSeq: 3, convergedAt: t(300_000), currentClosureAtDispatch: '' });
    expect(heartbeatRecovery(s, 'web-01', 'target-closure', t(90_000)).records).toEqual(s.records);
  });

  it('heartbeat recovery: Activating completes to Soaking; another closure changes nothing', () => {
    let s = ingestEvent(open(), { hostname: 'web-01', rolloutId: 'stable@r1', event: { kind: 'DispatchAck', currentClosureAtDispatch: 'prior', receivedAt: t(1), seq: 1 } }, t(1));
    expect(heartbeatRecovery(s, 'web-01', 'prior', t(5)).records).toEqual(s.records);
    s = heartbeatRecovery(s, 'web-01', 'target-closure', t(10_000));
    expect(record(s, 'stable@r1', 'web-01')).toMatchObject({ state: 'Soaking', lastEventSeq: 2 });
  });

  it('snapshots only non-terminal records, with absent optionals omitted', () => {
    const s = open();
    expect(snapshots(s, 'web-01')).toEqual([
      { rolloutId: 'stable@r1', hostname: 'web-01', channel: 'stable', state: 'Pending', targetClosure: 'target-closure', dispatchedAt: t(0), soakDueAt: t(300_000), lastEventSeq: 0 },
    ]);
    expect(snapshots(heartbeatRecovery(s, 'web-01', 'target-closure', t(1)), 'web-01')).toEqual([]);
  });
});

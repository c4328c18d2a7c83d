// The shared mirror keeps its records per host but must answer exactly as
// the dev CP's mirror functions on the whole state would; a held long-poll
// is answered when a rollout opens for its host and leaves nothing behind.
import * as E from 'fp-ts/Either';
import { isDeepStrictEqual } from 'node:util';
import { decodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope } from '../../src/codecs/events';
import type { RolloutPolicy } from '../../src/codecs/policy';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { emptyMirror, ingestEvent, openRollout, pendingDispatches, type MirrorState, type RolloutHost } from '../../src/devcp/mirror';
import type { Dispatch, DispatchAnswer } from '../../src/ports/control-plane';
import { MirrorCp, policyOf, probe, SharedMirror, VirtualClock, virtualFleet } from '../../src/testing';

/** The shared mirror, checked call by call against the dev CP's functions on one whole state. */
class CheckedMirror extends SharedMirror {
  reference: MirrorState = emptyMirror();
  dispatchesChecked = 0;
  /** Collected, not thrown: a throw inside the graph's long-poll would only be retried. */
  readonly mismatches: unknown[] = [];
  constructor(private readonly c: VirtualClock) {
    super(c);
  }
  private at() {
    return fromEpochMillis(this.c.now());
  }
  override open(rolloutId: string, channel: string, p: RolloutPolicy, hosts: readonly RolloutHost[]): void {
    super.open(rolloutId, channel, p, hosts);
    this.reference = openRollout(this.reference, rolloutId, channel, p, hosts, this.at());
  }
  override ingest(body: string): void {
    super.ingest(body);
    const env = decodeJson(AgentEventEnvelope, body);
    if (E.isRight(env)) this.reference = { ...ingestEvent(this.reference, env.right, this.at()), log: [] };
  }
  override dispatchFor(host: string): Dispatch | undefined {
    const d = super.dispatchFor(host);
    const expected = pendingDispatches(this.reference, host, this.at())[0];
    if (!isDeepStrictEqual(d, expected)) this.mismatches.push({ host, d, expected });
    this.dispatchesChecked += 1;
    return d;
  }
}

describe('SharedMirror', () => {
  it('answers every dispatch and ends in the state the whole-state mirror functions reach, quarantine shared across hosts', () => {
    const clock = new VirtualClock(0);
    const mirror = new CheckedMirror(clock);
    const hosts = ['web-01', 'web-02', 'db-01'];
    const fleet = virtualFleet({
      hosts,
      clock,
      mirror,
      probes: [probe('http', 'enforce', 10)],
      probeResult: ({ closure }) => (closure === 'v3' ? { status: 'fail', failureReason: 'HTTP 502' } : { status: 'pass' }),
    });
    fleet.start();
    const good = fleet.release({ 'web-01': 'v2', 'web-02': 'v2', 'db-01': 'v2' });
    expect(fleet.runUntil(() => fleet.count(good.rolloutId, 'Converged') === 3, 600_000)).toBe(true);
    // web-01 fails v3 and rolls back: v3 is quarantined for the channel ...
    const bad = fleet.release({ 'web-01': 'v3' }, { soakMinutes: 10 });
    expect(fleet.runUntil(() => fleet.count(bad.rolloutId, 'Reverted') === 1, 600_000)).toBe(true);
    // ... so web-02, whose records the failing event never touched, is not offered it.
    const after = fleet.release({ 'web-02': 'v3' });
    fleet.runFor(120_000);
    expect(fleet.states(after.rolloutId)).toEqual({ 'web-02': 'Pending' });
    expect(fleet.agents.get('web-02')?.ports.host.closure).toBe('v2');

    const { log: _log, ...reference } = mirror.reference;
    const { log: _none, ...ours } = mirror.state;
    expect(ours).toEqual(reference);
    expect(ours.quarantine).toHaveLength(1);
    expect(mirror.count('Converged')).toBe(3);
    expect(mirror.mismatches).toEqual([]);
    expect(mirror.dispatchesChecked).toBeGreaterThan(10);
    fleet.flush();
  });

  it('starts from a whole state and gives it back', () => {
    const clock = new VirtualClock(0);
    const initial = openRollout(emptyMirror(), 'stable@r1', 'stable', policyOf('halt'), [
      { hostname: 'web-01', targetClosure: 'v2', soakMinutes: 1 },
      { hostname: 'web-02', targetClosure: 'v2', soakMinutes: 1 },
    ], fromEpochMillis(0));
    const mirror = new SharedMirror(clock, initial);
    expect(mirror.state).toEqual(initial);
    expect(mirror.dispatchFor('web-02')).toMatchObject({ hostname: 'web-02', rolloutId: 'stable@r1', targetClosure: 'v2' });
    expect(mirror.dispatchFor('db-01')).toBeUndefined();
  });
});

describe('MirrorCp: a held long-poll', () => {
  const setup = () => {
    const clock = new VirtualClock(0);
    const mirror = new SharedMirror(clock);
    const answers: DispatchAnswer[] = [];
    const poll = new MirrorCp(clock, mirror, 'web-01').dispatch(60).subscribe((a) => answers.push(a));
    const open = (host: string) => mirror.open(`r-${host}`, 'stable', policyOf('halt'), [{ hostname: host, targetClosure: 'v2', soakMinutes: 1 }]);
    return { clock, mirror, answers, poll, open };
  };

  it('is answered when a rollout opens for its host, not for another host, and leaves no timer behind', () => {
    const { clock, answers, poll, open } = setup();
    expect(clock.pending).toBe(1);
    open('web-02');
    clock.runUntil(1_000);
    expect(answers).toEqual([]);
    open('web-01');
    clock.runUntil(2_000);
    expect(answers).toEqual([{ kind: 'dispatch', dispatch: expect.objectContaining({ hostname: 'web-01', rolloutId: 'r-web-01' }) }]);
    expect(poll.closed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('answers none when its wait runs out; once unsubscribed, a rollout opening finds nothing to wake', () => {
    const first = setup();
    first.clock.runUntil(60_000);
    expect(first.answers).toEqual([{ kind: 'none' }]);
    const second = setup();
    second.poll.unsubscribe();
    expect(second.clock.pending).toBe(0);
    const looks = jest.spyOn(second.mirror, 'dispatchFor');
    second.open('web-01');
    second.clock.runUntil(120_000);
    expect(looks).not.toHaveBeenCalled();
    expect(second.answers).toEqual([]);
  });
});

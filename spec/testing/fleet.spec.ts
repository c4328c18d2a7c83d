// The testing entry's fleet runner: N in-memory agents and the dev CP's
// mirror on one virtual clock, through a converging and a failing rollout;
// and the bounded ways out of a graph that was never stopped.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { DRAIN_DEADLINE_MS, createAgentGraph, type StopResult } from '../../src/streams';
import { inMemoryPorts, MirrorCp, probe, SharedMirror, virtualFleet } from '../../src/testing';
import { silentLogger } from '../../src/ports/logger';

const HOSTS = ['web-01', 'web-02', 'db-01'];

describe('virtualFleet', () => {
  it('runs a rollout to Converged on every host, then a failing one to Reverted, in virtual time', () => {
    const fleet = virtualFleet({
      hosts: HOSTS,
      probes: [probe('http', 'enforce', 10)],
      probeResult: ({ closure }) => (closure?.endsWith('-v3') ? { status: 'fail', failureReason: 'HTTP 502' } : { status: 'pass' }),
    });
    fleet.start();
    const good = fleet.release(Object.fromEntries(HOSTS.map((h) => [h, `${h}-v2`])), { soakMinutes: 2 });
    expect(fleet.runUntil(() => fleet.count(good.rolloutId, 'Converged') === 3, 600_000)).toBe(true);
    expect(fleet.states(good.rolloutId)).toEqual({ 'web-01': 'Converged', 'web-02': 'Converged', 'db-01': 'Converged' });
    // The soak is the CP's deadline: nothing converged before it.
    expect(fleet.clock.now()).toBeGreaterThanOrEqual(120_000);
    for (const [h, a] of fleet.agents) {
      expect(a.graph.state().hosts[good.rolloutId]?.state).toBe('Converged');
      expect(a.ports.host.closure).toBe(`${h}-v2`);
    }

    const bad = fleet.release({ 'web-01': 'web-01-v3' }, { soakMinutes: 10 });
    expect(fleet.runUntil(() => fleet.count(bad.rolloutId, 'Reverted') === 1, 600_000)).toBe(true);
    expect(fleet.agents.get('web-01')?.ports.host.closure).toBe('web-01-v2');
    expect(fleet.mirror.state.quarantine).toEqual([expect.objectContaining({ channel: 'stable', closure: 'web-01-v3' })]);
    expect(fleet.mirror.outcomes).toMatchObject({ rejected: 0, 'unknown-record': 0, duplicate: 0 });

    expect(fleet.flush()).toEqual({ 'web-01': 'drained', 'web-02': 'drained', 'db-01': 'drained' });
  });

  it('runUntil gives up at its limit, with the clock there', () => {
    const fleet = virtualFleet({ hosts: ['web-01'] });
    fleet.start();
    expect(fleet.runUntil(() => false, 30_000)).toBe(false);
    expect(fleet.clock.now()).toBe(30_000);
    fleet.flush();
  });
});

describe('a graph that was never stopped, in virtual time', () => {
  it('fleet.flush() stops it and returns within the drain deadline of virtual time', () => {
    const fleet = virtualFleet({ hosts: HOSTS });
    fleet.start();
    fleet.runFor(90_000);
    const before = fleet.clock.now();
    expect(fleet.flush()).toEqual({ 'web-01': 'drained', 'web-02': 'drained', 'db-01': 'drained' });
    expect(fleet.clock.now()).toBe(before + DRAIN_DEADLINE_MS);
    // Once flushed, a second flush has nothing left to stop.
    expect(fleet.flush()).toEqual({ 'web-01': 'drained', 'web-02': 'drained', 'db-01': 'drained' });
  });

  // rxjs's VirtualTimeScheduler.flush() runs until nothing is due: a running
  // graph always has a timer due (ticker, heartbeat, long-poll), so the way
  // out is a horizon (maxFrames) or stop() first.
  const graphOn = (vts: VirtualTimeScheduler) => {
    const mirror = new SharedMirror(vts);
    const graph = createAgentGraph({ ports: inMemoryPorts(vts, new MirrorCp(vts, mirror, 'web-01')), config: { machineId: 'web-01' }, scheduler: vts, logger: silentLogger });
    graph.start();
    return graph;
  };

  it('VirtualTimeScheduler.flush() with a horizon returns there, the graph still running', () => {
    const vts = new VirtualTimeScheduler(VirtualAction, 600_000);
    const graph = graphOn(vts);
    vts.flush();
    expect(vts.now()).toBeLessThanOrEqual(600_000);
    expect(vts.actions.length).toBeGreaterThan(0); // more is always due: without the horizon flush() would not return
    let stopped: StopResult | undefined;
    graph.stop().subscribe((r) => (stopped = r));
    vts.maxFrames = Number.POSITIVE_INFINITY;
    vts.flush();
    expect(stopped).toBe('drained');
  });

  it('VirtualTimeScheduler.flush() after stop() returns, every timer gone, within the drain deadline', () => {
    const vts = new VirtualTimeScheduler();
    const graph = graphOn(vts);
    let stopped: StopResult | undefined;
    vts.schedule(() => graph.stop().subscribe((r) => (stopped = r)), 300_000);
    vts.flush();
    expect(stopped).toBe('drained');
    expect(vts.actions).toEqual([]);
    expect(vts.now()).toBeLessThanOrEqual(300_000 + DRAIN_DEADLINE_MS);
  });
});

// Fault injection end to end: the agent's wall clock jumps back and forward
// during a rollout. Real daemons against the development CP, as in
// scenarios.spec.ts; the clock moves only inside the agent's process (the
// clock-skew.cjs preload shifts JS Date by the offset in a file), so the CP,
// this test's timers and OpenSSL's certificate checks keep real time. As for
// every fault: no event lost, no seq reused, and the CP's mirror ends in the
// state it reaches without the fault.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { firstValueFrom, timer } from 'rxjs';
import type { AgentLine, DemoFleet } from '../../src/demo/fleet';
import { fromEpochMillis, toEpochMillis } from '../../src/codecs/timestamp';
import { explained, fleetOf, received, shape, transitionLine, waitState } from '../e2e/support';

jest.setTimeout(420_000);

const HOUR_MS = 3_600_000;
const PRELOAD = path.join(__dirname, 'clock-skew.cjs');
/** Generous: CI runs about 3× slower than a development machine under load. */
const WAIT_MS = 150_000;

const clockDirs: string[] = [];

/** A one-host fleet whose agent's wall clock is real time + the offset `setOffset` writes. */
async function skewedFleet(): Promise<{ fleet: DemoFleet; setOffset: (ms: number) => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clock-'));
  clockDirs.push(dir);
  const file = path.join(dir, 'offset-ms');
  // Written whole and renamed into place, so the preload never reads half a number.
  const setOffset = (ms: number) => {
    fs.writeFileSync(`${file}.tmp`, String(ms));
    fs.renameSync(`${file}.tmp`, file);
  };
  setOffset(0);
  const nodeOptions = [process.env['NODE_OPTIONS'], `--require ${JSON.stringify(PRELOAD)}`].filter((o) => o !== undefined && o !== '').join(' ');
  const fleet = await fleetOf(['web-01'], { agentEnv: { NODE_OPTIONS: nodeOptions, NIXFLEET_TEST_CLOCK_FILE: file } });
  return { fleet, setOffset };
}

const sleep = (ms: number) => firstValueFrom(timer(ms));

const stepped = (direction: 'back' | 'forward') => (l: AgentLine) => l.message === 'wall clock stepped' && l['direction'] === direction;

/** Resolves once the agent has logged a line matching `p`, checking `from` the given line on. */
const logged = (fleet: DemoFleet, what: string, p: (l: AgentLine) => boolean, from = 0) =>
  fleet.waitFor(what, () => (fleet.agent('web-01').lines.slice(from).some(p) ? true : undefined), WAIT_MS);

const transition = (to: string, from?: string) => (l: AgentLine) => transitionLine(to, from)(l);

describe('faults: the wall clock jumps', () => {
  let fleet: DemoFleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
    for (const dir of clockDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('jumps back an hour mid-soak, then an hour ahead: the agent runs on, then converges; every event once', async () => {
    const skewed = await skewedFleet();
    fleet = skewed.fleet;
    const agent = fleet.agent('web-01');
    agent.start();
    const closure = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId, soakDueAt } = fleet.cp.release({ closures: { 'web-01': closure }, policy: 'halt', soakMinutes: 0.5 });
    await explained(waitState(fleet, rolloutId, 'web-01', 'Soaking', WAIT_MS), fleet, rolloutId);

    // Back one hour: the soak deadline moves an hour further away on the agent's clock.
    const beforeBack = agent.lines.length;
    skewed.setOffset(-HOUR_MS);
    await explained(logged(fleet, 'the step back logged', stepped('back'), beforeBack), fleet, rolloutId);
    await sleep(5_000);
    expect(agent.child?.exitCode).toBeNull();
    expect(fleet.cp.record(rolloutId, 'web-01')?.state).toBe('Soaking');
    expect(agent.lines.slice(beforeBack).filter(transition('Converged'))).toEqual([]);
    expect(agent.lines.slice(beforeBack).filter((l) => l.level === 'error')).toEqual([]);

    // Forward to an hour ahead of real time: the deadline has passed on the agent's clock.
    const beforeForward = agent.lines.length;
    skewed.setOffset(HOUR_MS);
    await explained(logged(fleet, 'agent-side Converged', transition('Converged', 'Soaking'), beforeForward), fleet, rolloutId);
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged', WAIT_MS), fleet, rolloutId);
    await explained(logged(fleet, 'the step forward logged', stepped('forward'), beforeForward), fleet, rolloutId);

    const applied = received(fleet, rolloutId, 'web-01'); // throws on a gap or a seq applied twice
    expect(applied[0]).toBe('DispatchAck#1');
    expect(applied[applied.length - 1]).toMatch(/^Converged#/);
    expect(shape(applied)).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeResult', 'Converged']);
    expect(fleet.cp.events(rolloutId).filter((e) => e.outcome === 'rejected' || e.outcome === 'unknown-record')).toEqual([]);
    const record = fleet.cp.record(rolloutId, 'web-01');
    expect(record).toMatchObject({ state: 'Converged', currentClosure: closure, soakDueAt });
    // Stamped by the agent's clock, an hour ahead: at least half an hour past the CP's deadline
    // (the release was 30 s before it), and the CP takes it as is.
    expect(toEpochMillis(record?.convergedAt ?? fromEpochMillis(0)) - toEpochMillis(soakDueAt)).toBeGreaterThan(HOUR_MS / 2);
    expect(agent.lines.filter(stepped('back'))).toHaveLength(1);
    expect(agent.child?.exitCode).toBeNull();
  });

  it('a failing soak: back an hour at the first failure holds the fail gate; an hour ahead, it fires; Reverted, every event once', async () => {
    const skewed = await skewedFleet();
    fleet = skewed.fleet;
    const agent = fleet.agent('web-01');
    agent.start();
    const bad = agent.tree.closure('nixos-system-web-01-broken', 'broken');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': bad }, policy: 'rollback-and-halt', soakMinutes: 5 });
    // The first failing result anchors the sustained-failure window in real time;
    // stepping back now puts the agent's clock before that anchor.
    const firstResult = (l: AgentLine) => l.message === 'event queued' && l['kind'] === 'ProbeResult';
    await explained(logged(fleet, 'the first probe result', firstResult), fleet, rolloutId);
    const beforeBack = agent.lines.length;
    skewed.setOffset(-HOUR_MS);
    await explained(logged(fleet, 'the step back logged', stepped('back'), beforeBack), fleet, rolloutId);
    // Held past the 8 s threshold (FAST_TIMINGS) in real time: without the step the
    // gate would have fired by now; on the agent's clock the failure has not begun.
    await sleep(12_000);
    expect(agent.child?.exitCode).toBeNull();
    expect(agent.lines.slice(beforeBack).filter(transition('Failed'))).toEqual([]);
    expect(fleet.cp.record(rolloutId, 'web-01')?.state).toBe('Soaking');
    // The probe kept failing meanwhile; its results, stamped an hour back, came
    // after the first failure's and the CP applied them.
    const anchor = fleet.cp.record(rolloutId, 'web-01')?.probeFailureFirstAt ?? fromEpochMillis(0);
    const stampedBack = fleet.cp.events(rolloutId).filter((e) => e.event.kind === 'ProbeResult' && e.outcome === 'applied' && toEpochMillis(e.event.observedAt) < toEpochMillis(anchor) - HOUR_MS / 2);
    expect(stampedBack.length).toBeGreaterThanOrEqual(1);

    skewed.setOffset(HOUR_MS);
    await explained(waitState(fleet, rolloutId, 'web-01', 'Reverted', WAIT_MS), fleet, rolloutId);

    const applied = received(fleet, rolloutId, 'web-01'); // throws on a gap or a seq applied twice
    expect(applied[0]).toBe('DispatchAck#1');
    expect(shape(applied).slice(-2)).toEqual(['Failed', 'RollbackComplete']);
    expect(fleet.cp.events(rolloutId).filter((e) => e.outcome === 'rejected' || e.outcome === 'unknown-record')).toEqual([]);
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Reverted', currentClosure: fleet.good.get('web-01') });
    // The failure is reported as an hour long: the agent's clock, not the real 8 s threshold.
    const failed = fleet.cp.events(rolloutId).find((e) => e.event.kind === 'Failed')?.event;
    expect(failed !== undefined && 'sustainedDurationSecs' in failed ? failed.sustainedDurationSecs : 0).toBeGreaterThanOrEqual(3_600);
    expect(agent.child?.exitCode).toBeNull();
  });
});

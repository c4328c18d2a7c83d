// The fleet rows: one process hosting 10,000 embedded agent graphs against one control
// plane through a full rollout — whether the cost grows linearly (10,000
// against 10 × 1,000), heap per agent, events per second.
//
// The control plane here is the development CP's in-process mirror
// (src/devcp/mirror.ts, through the testing entry's SharedMirror), not its
// HTTPS server: every agent's ControlPlanePort is the testing entry's MirrorCp
// (src/testing/mirror.ts), whose long-poll is answered from the mirror's
// pendingDispatches and whose event POSTs are decoded with the wire codec and
// ingested into the one shared mirror. So the rows measure the agent graphs
// plus the mirror, with no sockets, TLS or JSON over HTTP in between. All
// graphs share one virtual clock (src/testing/virtual-clock.ts) and run as
// fast as the CPU allows: the fleet is the testing entry's virtualFleet
// runner, with queues that keep no history and a mirror that times itself
// (bench/ports.ts).
//
// Rollout: the mirror opens one rollout for every host (all at once); each
// agent long-polls its dispatch, switches (10 s), soaks with one probe every
// 30 s for a minute, converges at the soak deadline; the rollout ends when
// the mirror holds every record Converged and every graph agrees. Its wall
// time at N agents is compared with 10 × the median wall time at N/10, from
// runs in the same process just before and just after the large one.
// Events per second = reducer inputs of all graphs during the rollout / wall
// time, against one graph with its own mirror through the same rollout.
//
// Memory: heap and RSS after a full GC (node --expose-gc) before the graphs
// exist, once all are started and idle, and once the rollout has converged
// (before stop), divided by the number of agents. The converged figure
// includes the mirror's records (one per agent).
//
// Standalone: node --expose-gc node_modules/.cache/nixfleet-bench/bench/fleet.js [--quick] [--agents=N] [--json]
// (`npm run bench` runs it so, in a child process of its own.)
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { VirtualClock, virtualFleet } from '../src/testing';
import { gc, median, printTable, type Row } from './lib';
import { LeanQueue, probe, TimedMirror } from './ports';

export interface FleetScenario {
  readonly agents: number;
  readonly probes: number;
  readonly probeIntervalSecs: number;
  readonly soakMinutes: number;
}

export interface Memory {
  readonly heapUsed: number;
  readonly rss: number;
}

export interface FleetRun {
  readonly agents: number;
  /** wall time to build and start every graph (untimed by the rows) */
  readonly buildSeconds: number;
  /** reducer inputs of every graph from the rollout's opening to the last Converged */
  readonly inputs: number;
  /** events the mirror ingested (applied) in that window */
  readonly wireEvents: number;
  /** wall time of the rollout: opening to every host Converged, in the mirror and in each graph */
  readonly seconds: number;
  /** CPU time of the process (every thread: the graphs, the mirror, the GC) in that window */
  readonly cpuSeconds: number;
  /** wall time spent inside the mirror (decode, ingest, dispatch lookups) */
  readonly mirrorSeconds: number;
  readonly virtualSeconds: number;
  readonly memory?: { readonly before: Memory; readonly idle: Memory; readonly converged: Memory; readonly gc: boolean };
  readonly rejected: number;
}

const ROLLOUT = 'stable@r1';
const mem = (): Memory => {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
};

export function runFleet(sc: FleetScenario, measureMemory = false): FleetRun {
  // Every run starts on a collected heap, so none pays for the last one's garbage.
  const hadGc = gc();
  const before = measureMemory ? mem() : undefined;
  const b0 = performance.now();
  const clock = new VirtualClock(0);
  const mirror = new TimedMirror(clock);
  const probes = Array.from({ length: sc.probes }, (_, i) => probe(`probe-${i}`, sc.probeIntervalSecs));
  const names = Array.from({ length: sc.agents }, (_, i) => `host-${String(i).padStart(5, '0')}`);
  // Inputs are counted in the commit hook (one function for every graph), not
  // by subscribing to each graph's inputs$: that would add a subscriber per
  // agent to the heap figure.
  let inputs = 0;
  const commitTurn = (_state: unknown, applyEffects: () => void) => {
    inputs += 1;
    applyEffects();
  };
  const fleet = virtualFleet({ hosts: names, probes, onHealthFailure: 'halt', clock, mirror, config: { commitTurn }, queue: () => new LeanQueue(), initialClosure: () => 'prior-closure' });
  fleet.start();
  // Boot: first manifest poll, heartbeat, drain pass; every long-poll is held.
  clock.runUntil(2_000);
  const buildSeconds = (performance.now() - b0) / 1000;
  if (measureMemory) gc();
  const idle = measureMemory ? mem() : undefined;

  const inputs0 = inputs;
  const applied0 = mirror.outcomes.applied;
  const busy0 = mirror.busyMs;
  const v0 = clock.now();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const { rolloutId } = fleet.release(Object.fromEntries(names.map((n) => [n, 'target-closure'])), { soakMinutes: sc.soakMinutes });
  if (rolloutId !== ROLLOUT) throw new Error(`fleet bench: rollout ${rolloutId}`);
  const limit = v0 + (sc.soakMinutes * 60 + 300) * 1000;
  let now = v0;
  while (mirror.count('Converged') < sc.agents) {
    if (now >= limit) throw new Error(`fleet bench: only ${mirror.count('Converged')} of ${sc.agents} converged by the limit`);
    now += 5_000;
    clock.runUntil(now);
  }
  // ... and every graph agrees with the mirror.
  for (const a of fleet.agents.values()) {
    if (a.graph.state().hosts[ROLLOUT]?.state !== 'Converged') throw new Error('fleet bench: the mirror holds Converged for an agent that is not');
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const result = {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    inputs: inputs - inputs0,
    wireEvents: mirror.outcomes.applied - applied0,
    mirrorSeconds: (mirror.busyMs - busy0) / 1000,
    virtualSeconds: (clock.now() - v0) / 1000,
  };
  if (measureMemory) gc();
  const converged = measureMemory ? mem() : undefined;

  const drained = Object.values(fleet.flush()).filter((r) => r === 'drained').length;
  if (drained !== sc.agents) throw new Error(`fleet bench: ${sc.agents - drained} graphs did not drain on stop()`);
  return {
    agents: sc.agents,
    buildSeconds,
    ...result,
    seconds,
    rejected: mirror.outcomes.rejected + mirror.outcomes['unknown-record'],
    ...(before && idle && converged ? { memory: { before, idle, converged, gc: hadGc } } : {}),
  };
}

/** One graph through the same rollout, repeated for about `ms`; inputs per second. */
function singleRate(sc: FleetScenario, ms: number): number {
  let inputs = 0;
  let seconds = 0;
  while (seconds * 1000 < ms) {
    const r = runFleet({ ...sc, agents: 1 });
    inputs += r.inputs;
    seconds += r.seconds;
  }
  return inputs / seconds;
}

// One probe every 30 s and a one-minute soak: ~9 wire events and 22 reducer
// inputs per host. The scaling pair is the fleet and a tenth of it; --quick
// runs 2,500 against 250 (CI smoke).
export const FLEET: FleetScenario = { agents: 10_000, probes: 1, probeIntervalSecs: 30, soakMinutes: 1 };
export const FLEET_QUICK: FleetScenario = { ...FLEET, agents: 2_500 };
/** Heap per agent once its rollout has converged, its mirror record included. */
export const HEAP_PER_AGENT_TARGET_KB = 64;
/** t(N) / (10 × t(N/10)): cost grows linearly, within noise and GC. */
export const SCALING_TARGET = 1.2;
/** Runs of N/10 on each side of the large run. */
const SMALL_RUNS = 3;

export interface FleetReport {
  readonly rows: Row[];
  readonly notes: string[];
}

const kB = (bytes: number, agents: number) => bytes / agents / 1024;
const heapPerAgent = (r: FleetRun, at: 'idle' | 'converged') => (r.memory === undefined ? NaN : kB(r.memory[at].heapUsed - r.memory.before.heapUsed, r.agents));
const fmtKb = (x: number) => `${x.toFixed(1)} kB`;
const count = (n: number) => n.toLocaleString('en-US');

export function fleetReport(quick: boolean, agents?: number): FleetReport {
  const sc = { ...(quick ? FLEET_QUICK : FLEET), ...(agents !== undefined ? { agents } : {}) };
  const tenth = { ...sc, agents: Math.max(1, Math.round(sc.agents / 10)) };
  // Warm-up (JIT), then SMALL_RUNS runs of N/10 before the large run and as
  // many after: on a shared machine single runs of a few seconds vary by 2-3x,
  // so the baseline is 10 x their median, measured around the large run.
  runFleet({ ...sc, agents: 1 });
  runFleet(tenth);
  const singles = [singleRate(sc, quick ? 300 : 600)];
  const smalls = Array.from({ length: SMALL_RUNS }, () => runFleet(tenth, true));
  const large = runFleet(sc, true);
  smalls.push(...Array.from({ length: SMALL_RUNS }, () => runFleet(tenth, true)));
  singles.push(singleRate(sc, quick ? 300 : 600));

  const small = median(smalls.map((r) => r.seconds));
  const scaling = large.seconds / (10 * small);
  const cpuScaling = large.cpuSeconds / (10 * median(smalls.map((r) => r.cpuSeconds)));
  const ours = large.inputs / large.seconds;
  const baseline = median(singles);
  const heap = heapPerAgent(large, 'converged');
  const n = count(sc.agents);
  const rows: Row[] = [
    {
      name: `${n} graphs + 1 CP mirror, full rollout: wall time vs 10 × ${count(tenth.agents)} graphs`,
      ours: `${large.seconds.toFixed(2)} s`,
      baseline: `${(10 * small).toFixed(2)} s`,
      ratio: scaling.toFixed(2),
      target: `<= ${SCALING_TARGET}`,
      verdict: scaling <= SCALING_TARGET ? 'ok' : 'BELOW',
    },
    {
      name: `${n} graphs + 1 CP mirror, full rollout: inputs/s vs 1 graph`,
      ours: Math.round(ours).toLocaleString('en-US'),
      baseline: Math.round(baseline).toLocaleString('en-US'),
      ratio: (ours / baseline).toFixed(2),
      target: '—',
      verdict: 'info',
    },
    {
      name: `${n} graphs: heap per agent, converged (idle: ${fmtKb(heapPerAgent(large, 'idle'))})`,
      ours: fmtKb(heap),
      baseline: '—',
      ratio: '—',
      target: `<= ${HEAP_PER_AGENT_TARGET_KB} kB`,
      verdict: heap <= HEAP_PER_AGENT_TARGET_KB ? 'ok' : 'BELOW',
    },
  ];
  const m = large.memory;
  const notes = [
    `${n}-graph rows: one shared in-process dev-CP mirror (src/devcp/mirror.ts functions, records kept per host) behind bench port adapters, no HTTPS;`,
    `  ${count(large.inputs)} reducer inputs and ${count(large.wireEvents)} events ingested by the mirror in ${large.seconds.toFixed(2)} s wall ` +
      `(${count(Math.round(large.wireEvents / large.seconds))} wire events/s; ${large.virtualSeconds} s of virtual time); ` +
      `${Math.round((100 * large.mirrorSeconds) / large.seconds)}% of the wall time inside the mirror; ${large.rejected} events refused by the mirror;`,
    `  ${count(tenth.agents)} graphs, ${SMALL_RUNS} runs before and ${SMALL_RUNS} after: ${smalls.map((r) => r.seconds.toFixed(2)).join(', ')} s (median ${small.toFixed(2)} s); ` +
      `CPU time (every thread, GC included) ${large.cpuSeconds.toFixed(2)} s against 10 x ${median(smalls.map((r) => r.cpuSeconds)).toFixed(2)} s, ratio ${cpuScaling.toFixed(2)};`,
    `  building and starting the graphs (not in the rows): ${large.buildSeconds.toFixed(2)} s for ${n}, median ${median(smalls.map((r) => r.buildSeconds)).toFixed(2)} s for ${count(tenth.agents)}.`,
  ];
  if (m !== undefined) {
    notes.push(
      `  memory per agent: heap ${fmtKb(heapPerAgent(large, 'idle'))} idle, ${fmtKb(heap)} converged (${count(tenth.agents)} graphs: ${fmtKb(median(smalls.map((r) => heapPerAgent(r, 'converged'))))}); ` +
        `RSS ${fmtKb(kB(m.idle.rss - m.before.rss, sc.agents))} idle, ${fmtKb(kB(m.converged.rss - m.before.rss, sc.agents))} converged` +
        (m.gc ? '' : ' (no --expose-gc: figures include garbage)'),
    );
  }
  return { rows, notes };
}

/**
 * Runs this bench in a child process (node --expose-gc), so its memory
 * readings start from a clean heap and RSS rather than the other rows' leftovers.
 */
export function fleetReportInChild(quick: boolean): FleetReport {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...(quick ? ['--quick'] : []), '--json'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`fleet bench exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return JSON.parse(r.stdout) as FleetReport;
}

if (require.main === module) {
  const agentsArg = process.argv.find((a) => a.startsWith('--agents='));
  const r = fleetReport(process.argv.includes('--quick'), agentsArg === undefined ? undefined : Number(agentsArg.slice('--agents='.length)));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(r));
  } else {
    printTable(r.rows);
    for (const n of r.notes) console.log(n);
  }
}

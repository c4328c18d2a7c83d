// Row 4: one process hosting 1,000 embedded agent graphs against one control
// plane through a full rollout — memory per agent and events per second.
//
// The control plane here is the development CP's in-process mirror
// (src/devcp/mirror.ts), not its HTTPS server: every agent's ControlPlanePort
// is the testing entry's MirrorCp (src/testing/mirror.ts), whose long-poll is answered
// from the mirror's pendingDispatches and whose event POSTs are decoded with
// the wire codec and ingested into the one shared mirror. So the row measures
// the 1,000 agent graphs plus the mirror, with no sockets, TLS or JSON over
// HTTP in between. All graphs share one virtual clock (src/testing/virtual-clock.ts)
// and run as fast as the CPU allows: the fleet is the testing entry's
// virtualFleet runner, with queues that keep no history and a mirror that
// times itself (bench/ports.ts).
//
// Rollout: the mirror opens one rollout for every host (all at once); each
// agent long-polls its dispatch, switches (10 s), soaks with one probe every
// 30 s for a minute, converges at the soak deadline; the row ends when the mirror holds
// every record Converged. Events per second = reducer inputs of all graphs
// during the rollout / wall time; the baseline is one graph against its own
// mirror through the same rollout, measured in the same run (before and after
// the fleet), so the ratio shows what hosting 1,000 graphs and a 1,000-record
// mirror in one process costs per event.
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
  /** reducer inputs of every graph from the rollout's opening to the last Converged */
  readonly inputs: number;
  /** events the mirror ingested (applied) in that window */
  readonly wireEvents: number;
  readonly seconds: number;
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
  const hadGc = measureMemory && gc();
  const before = measureMemory ? mem() : undefined;
  const clock = new VirtualClock(0);
  const mirror = new TimedMirror(clock);
  const probes = Array.from({ length: sc.probes }, (_, i) => probe(`probe-${i}`, sc.probeIntervalSecs));
  const names = Array.from({ length: sc.agents }, (_, i) => `host-${String(i).padStart(4, '0')}`);
  const fleet = virtualFleet({ hosts: names, probes, onHealthFailure: 'halt', clock, mirror, queue: () => new LeanQueue(), initialClosure: () => 'prior-closure' });
  let inputs = 0;
  const count = () => {
    inputs += 1;
  };
  for (const a of fleet.agents.values()) a.graph.inputs$.subscribe(count);
  fleet.start();
  // Boot: first manifest poll, heartbeat, drain pass; every long-poll is held.
  clock.runUntil(2_000);
  if (measureMemory) gc();
  const idle = measureMemory ? mem() : undefined;

  const inputs0 = inputs;
  const applied0 = mirror.outcomes.applied;
  const busy0 = mirror.busyMs;
  const v0 = clock.now();
  const t0 = performance.now();
  const { rolloutId } = fleet.release(Object.fromEntries(names.map((n) => [n, 'target-closure'])), { soakMinutes: sc.soakMinutes });
  if (rolloutId !== ROLLOUT) throw new Error(`fleet bench: rollout ${rolloutId}`);
  const limit = v0 + (sc.soakMinutes * 60 + 300) * 1000;
  let now = v0;
  while (mirror.count('Converged') < sc.agents) {
    if (now >= limit) throw new Error(`fleet bench: only ${mirror.count('Converged')} of ${sc.agents} converged by the limit`);
    now += 5_000;
    clock.runUntil(now);
  }
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    inputs: inputs - inputs0,
    wireEvents: mirror.outcomes.applied - applied0,
    mirrorSeconds: (mirror.busyMs - busy0) / 1000,
    virtualSeconds: (clock.now() - v0) / 1000,
  };
  if (measureMemory) gc();
  const converged = measureMemory ? mem() : undefined;
  for (const a of fleet.agents.values()) {
    if (a.graph.state().hosts[ROLLOUT]?.state !== 'Converged') throw new Error('fleet bench: an agent did not converge');
  }

  const drained = Object.values(fleet.flush()).filter((r) => r === 'drained').length;
  if (drained !== sc.agents) throw new Error(`fleet bench: ${sc.agents - drained} graphs did not drain on stop()`);
  return {
    agents: sc.agents,
    ...result,
    seconds,
    rejected: mirror.outcomes.rejected + mirror.outcomes['unknown-record'],
    ...(before && idle && converged ? { memory: { before, idle, converged, gc: hadGc } } : {}),
  };
}

/** One graph through the same rollout, repeated for about `ms`; inputs per second. */
function singleRate(sc: FleetScenario, ms: number): { rate: number; wirePerSec: number } {
  let inputs = 0;
  let wire = 0;
  let seconds = 0;
  while (seconds * 1000 < ms) {
    const r = runFleet({ ...sc, agents: 1 });
    inputs += r.inputs;
    wire += r.wireEvents;
    seconds += r.seconds;
  }
  return { rate: inputs / seconds, wirePerSec: wire / seconds };
}

// Sized by the mirror: its ingest rebuilds the whole record map per event
// (src/devcp/mirror.ts `put`), so a run costs O(agents² × events per agent).
// One probe every 30 s and a one-minute soak keep a full rollout of 1,000
// hosts to ~9 events per host; --quick hosts 250 graphs.
export const FLEET: FleetScenario = { agents: 1000, probes: 1, probeIntervalSecs: 30, soakMinutes: 1 };
export const FLEET_QUICK: FleetScenario = { ...FLEET, agents: 250 };

export interface FleetReport {
  readonly rows: Row[];
  readonly notes: string[];
}

export function fleetReport(quick: boolean, agents?: number): FleetReport {
  const sc = { ...(quick ? FLEET_QUICK : FLEET), ...(agents !== undefined ? { agents } : {}) };
  runFleet({ ...sc, agents: 1 }); // warm-up
  const fleetRuns = 1;
  const singles: number[] = [];
  const runs: FleetRun[] = [];
  // single, fleet, single (, fleet, single): the baseline brackets every fleet run.
  singles.push(singleRate(sc, quick ? 300 : 600).rate);
  for (let i = 0; i < fleetRuns; i++) {
    runs.push(runFleet(sc, true));
    singles.push(singleRate(sc, quick ? 300 : 600).rate);
  }
  const rates = runs.map((r) => r.inputs / r.seconds);
  const ours = median(rates);
  const baseline = median(singles);
  const last = runs[runs.length - 1] as FleetRun;
  const kB = (bytes: number) => `${Math.round(bytes / sc.agents / 1024).toLocaleString('en-US')} kB`;
  const m = last.memory;
  const n = sc.agents.toLocaleString('en-US');
  const rows: Row[] = [
    {
      name: `${n} graphs + 1 CP mirror, full rollout: inputs/s vs 1 graph`,
      ours: Math.round(ours).toLocaleString('en-US'),
      baseline: Math.round(baseline).toLocaleString('en-US'),
      ratio: (ours / baseline).toFixed(2),
      target: '—',
      verdict: 'info',
    },
  ];
  if (m !== undefined) {
    rows.push({
      name: `${n} graphs: heap per agent, converged (idle: ${kB(m.idle.heapUsed - m.before.heapUsed)})`,
      ours: kB(m.converged.heapUsed - m.before.heapUsed),
      baseline: '—',
      ratio: '—',
      target: '—',
      verdict: 'info',
    });
  }
  const notes = [
    `${n}-graph row: one shared in-process dev-CP mirror (src/devcp/mirror.ts) behind bench port adapters, no HTTPS;`,
    `  ${last.inputs.toLocaleString('en-US')} reducer inputs and ${last.wireEvents.toLocaleString('en-US')} events ingested by the mirror in ${last.seconds.toFixed(2)} s wall ` +
      `(${Math.round(last.wireEvents / last.seconds).toLocaleString('en-US')} wire events/s; ${last.virtualSeconds} s of virtual time); ` +
      `${Math.round((100 * last.mirrorSeconds) / last.seconds)}% of the wall time inside the mirror, so the graphs alone ran ` +
      `${Math.round(last.inputs / (last.seconds - last.mirrorSeconds)).toLocaleString('en-US')} inputs/s; ${last.rejected} events refused by the mirror.`,
  ];
  if (m !== undefined) {
    notes.push(
      `  memory per agent: heap ${kB(m.idle.heapUsed - m.before.heapUsed)} idle, ${kB(m.converged.heapUsed - m.before.heapUsed)} converged; ` +
        `RSS ${kB(m.idle.rss - m.before.rss)} idle, ${kB(m.converged.rss - m.before.rss)} converged` +
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

// Row 2: reducer inputs per second through the whole agent graph
// (createAgentGraph: every source, the mailbox, the scan, the applier, the
// durable-queue sink and the outbound drain) on in-memory ports, against
// agentStep() alone on the very same inputs. The ratio is what the RxJS
// plumbing costs; the target is that the graph keeps at least half of
// agentStep()'s rate.
//
// The graph runs one rollout in virtual time (bench/virtual-clock.ts), as fast
// as the CPU allows: a dispatch, a 10 s switch, a soak with 4 probes every 5 s
// (each result is queued and drained to the CP), the pass gate, Converged, then
// stop(). A first run records every input the reducer took with its `now`;
// the baseline replays that recording through agentStep() in a bare loop, and
// must end in the state the graph ended in.
//
// Standalone: node node_modules/.cache/nixfleet-bench/bench/graph.js [--quick]
import type { Timestamp } from '../src/codecs/timestamp';
import { fromEpochMillis } from '../src/codecs/timestamp';
import { silentLogger } from '../src/ports/logger';
import { agentStep, DEFAULT_AGENT_REDUCER_CONFIG, initialAgentState, type AgentState, type ReducerInput } from '../src/reducer/agent';
import { createAgentGraph, type StopResult } from '../src/streams';
import { calibrate, consume, fmtRate, interleave, printTable, rateRow, timed, type Pair, type Row } from './lib';
import { agentPorts, LeanQueue, manifestSet, NullQueue, OneDispatchCp, probe } from './ports';
import { VirtualClock } from './virtual-clock';

export interface GraphScenario {
  readonly probes: number;
  readonly soakSecs: number;
}

export interface Recorded {
  readonly input: ReducerInput;
  readonly now: Timestamp;
}

export interface GraphRun {
  readonly inputs: number;
  readonly state: AgentState;
}

const ROLLOUT = 'stable@r1';
const DISPATCH_AT_MS = 1_000;

/**
 * One whole rollout through a fresh graph; `record` sees every input the
 * reducer takes. `stubOutbound` swaps the queue for one that keeps nothing
 * (the diagnostic line: what the outbound path costs).
 */
export function runGraphRollout(sc: GraphScenario, record?: (r: Recorded) => void, stubOutbound = false): GraphRun {
  const clock = new VirtualClock(0);
  const soakDueMs = DISPATCH_AT_MS + 10_000 + sc.soakSecs * 1000;
  const cp = new OneDispatchCp(
    clock,
    () => ({ hostname: 'web-01', rolloutId: ROLLOUT, targetClosure: 'target-closure', soakDueAt: fromEpochMillis(soakDueMs), enqueuedAt: fromEpochMillis(clock.now()) }),
    DISPATCH_AT_MS,
  );
  const probes = Array.from({ length: sc.probes }, (_, i) => probe(`probe-${i}`, 5));
  const ports = agentPorts(clock, cp, manifestSet(), probes, stubOutbound ? new NullQueue() : new LeanQueue());
  const graph = createAgentGraph({ ports, config: { machineId: 'web-01' }, scheduler: clock, logger: silentLogger });
  let inputs = 0;
  graph.inputs$.subscribe(
    record === undefined
      ? () => {
          inputs += 1;
        }
      : (input) => {
          inputs += 1;
          record({ input, now: fromEpochMillis(clock.now()) });
        },
  );
  graph.start();
  // The advance ticker runs every 5 s: the pass gate fires on the first tick after the deadline.
  const end = soakDueMs + 5_000;
  clock.runUntil(end);
  const state = graph.state();
  if (state.hosts[ROLLOUT]?.state !== 'Converged') throw new Error(`graph bench: rollout ended ${state.hosts[ROLLOUT]?.state ?? 'absent'}, not Converged`);
  let stopped: StopResult | undefined;
  graph.stop().subscribe((r) => (stopped = r));
  clock.runUntil(end + 30_000);
  if (stopped !== 'drained') throw new Error(`graph bench: stop() gave ${stopped ?? 'nothing'}`);
  return { inputs, state };
}

/** agentStep() over a recording, as the graph's scan calls it. */
export function replayAgentStep(recorded: readonly Recorded[]): AgentState {
  let state = initialAgentState();
  let effects = 0;
  for (const r of recorded) {
    const t = agentStep(state, r.input, r.now, DEFAULT_AGENT_REDUCER_CONFIG);
    state = t.state;
    effects += t.effects.length;
  }
  consume(effects);
  return state;
}

export const DEFAULT_SCENARIO: GraphScenario = { probes: 4, soakSecs: 1800 };

export interface GraphBench {
  readonly full: Pair;
  /** the same, with the outbound path (envelope, queue, drain POST, ack) stubbed out */
  readonly stubbed: Pair;
  readonly inputsPerRollout: number;
}

export function graphBench(sc: GraphScenario, blocks: number): GraphBench {
  const recorded: Recorded[] = [];
  const first = runGraphRollout(sc, (r) => recorded.push(r));
  const replayed = replayAgentStep(recorded);
  const a = first.state.hosts[ROLLOUT];
  const b = replayed.hosts[ROLLOUT];
  if (a?.state !== b?.state || a?.lastEventSeq !== b?.lastEventSeq) throw new Error('graph bench: agentStep() replay does not end where the graph ended');
  if (runGraphRollout(sc, undefined, true).inputs !== recorded.length) throw new Error('graph bench: the stubbed run took other inputs');
  // Give the bare loop about as long a block as one graph rollout takes.
  const graphMs = timed(() => runGraphRollout(sc)).seconds * 1000;
  const reps = calibrate(() => replayAgentStep(recorded), Math.max(5, graphMs));
  const baseline = () => {
    for (let i = 0; i < reps; i++) replayAgentStep(recorded);
    return reps * recorded.length;
  };
  const full = interleave(() => runGraphRollout(sc).inputs, baseline, blocks);
  const stubbed = interleave(() => runGraphRollout(sc, undefined, true).inputs, baseline, Math.max(3, Math.ceil(blocks / 2)));
  return { full, stubbed, inputsPerRollout: recorded.length };
}

export function graphReport(quick: boolean): { rows: Row[]; notes: string[] } {
  const sc = DEFAULT_SCENARIO;
  const r = graphBench(sc, quick ? 5 : 15);
  return {
    rows: [rateRow(`whole graph vs agentStep() alone (1 rollout, ${sc.probes} probes, ${r.inputsPerRollout.toLocaleString('en-US')} inputs)`, r.full, { atLeast: 0.5 })],
    notes: [
      `graph row: one rollout in virtual time on in-memory ports (bench/ports.ts), every input recorded and replayed through agentStep() for the baseline;`,
      `  with the outbound path stubbed (no envelope, queue row, drain POST or ack per event) the graph runs ${fmtRate(r.stubbed.ours)} inputs/s, ratio ${r.stubbed.ratio.toFixed(2)}.`,
    ],
  };
}

if (require.main === module) {
  const r = graphReport(process.argv.includes('--quick'));
  printTable(r.rows);
  for (const n of r.notes) console.log(n);
}

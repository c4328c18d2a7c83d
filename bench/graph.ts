// Row 2: reducer inputs per second through the whole agent graph
// (createAgentGraph: every source, the mailbox, the scan, the applier, the
// durable-queue sink and the outbound drain) on in-memory ports, against
// agentStep() alone on the very same inputs. The ratio is what the RxJS
// plumbing costs; the target is that the graph keeps at least half of
// agentStep()'s rate.
//
// The graph runs one rollout in virtual time (src/testing/virtual-clock.ts), as fast
// as the CPU allows: a dispatch, a 10 s switch, a soak with 4 probes every 5 s
// (each result is queued and drained to the CP), the pass gate, Converged, then
// stop(). A first run records every input the reducer took with its `now`;
// the baseline replays that recording through agentStep() in a bare loop, and
// must end in the state the graph ended in.
//
// That baseline skips the per-event work the graph must do besides the
// reducer: each queued event's envelope encoding, queue row, POST and ack
// cost about as much as agentStep() itself. A diagnostic line therefore also
// compares the graph with agentStep() + the same sinks (the graph's own
// applier on the same ports, every queued event delivered after its turn, no
// sources, mailbox, timers or workers): that ratio is what the plumbing costs.
//
// Standalone: node node_modules/.cache/nixfleet-bench/bench/graph.js [--quick]
import type { Timestamp } from '../src/codecs/timestamp';
import { fromEpochMillis } from '../src/codecs/timestamp';
import { silentLogger } from '../src/ports/logger';
import type { ControlPlanePort } from '../src/ports/control-plane';
import type { OutboundQueuePort } from '../src/ports/store';
import { agentStep, DEFAULT_AGENT_REDUCER_CONFIG, initialAgentState, type AgentState, type ReducerInput } from '../src/reducer/agent';
import { createApplier } from '../src/sinks/applier';
import { DRAIN_BATCH } from '../src/sources/outbound-drain';
import { ACTIVATION_INTENT_CAPACITY, createAgentGraph, type StopResult } from '../src/streams';
import { calibrate, consume, fmtRate, interleave, printTable, rateRow, timed, type Pair, type Row } from './lib';
import { agentPorts, LeanQueue, manifestSet, NullQueue, OneDispatchCp, probe } from './ports';
import { VirtualClock } from '../src/testing';

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
  /** Events the CP acknowledged. */
  readonly delivered: number;
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
  return { inputs, state, delivered: graph.stats().eventsDelivered };
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

/** Every queued event posted and acknowledged, in order (ports that answer synchronously). */
function deliverAll(queue: OutboundQueuePort, cp: ControlPlanePort): number {
  let delivered = 0;
  queue.pending(DRAIN_BATCH).subscribe((events) => {
    for (const ev of events) cp.postEvent(ev.body).subscribe(() => queue.ack(ev.id).subscribe(() => (delivered += 1)));
  });
  return delivered;
}

/**
 * agentStep() over a recording with each turn's effects applied by the
 * graph's applier to the same in-memory ports, and the events a turn queued
 * delivered right after it: the reducer plus the per-event work the graph
 * must do, without its sources, mailbox, timers or workers.
 */
export function replayWithSinks(recorded: readonly Recorded[]): { readonly state: AgentState; readonly delivered: number } {
  const queue = new LeanQueue();
  const cp = new OneDispatchCp(new VirtualClock(0), () => {
    throw new Error('graph bench: the sinks baseline never long-polls');
  });
  let kicked = false;
  let now = recorded[0]?.now ?? fromEpochMillis(0);
  const apply = createApplier({
    intents: { offer: () => true, capacity: ACTIVATION_INTENT_CAPACITY, feedback: () => {}, now: () => now, logger: silentLogger },
    outbound: { queue, machineId: 'web-01', kick: () => (kicked = true), logger: silentLogger },
    probes: () => {},
    logger: silentLogger,
  });
  let state = initialAgentState();
  let delivered = 0;
  for (const r of recorded) {
    now = r.now;
    const t = agentStep(state, r.input, r.now, DEFAULT_AGENT_REDUCER_CONFIG);
    state = t.state;
    for (const effect of t.effects) apply(effect);
    if (kicked) {
      kicked = false;
      delivered += deliverAll(queue, cp);
    }
  }
  return { state, delivered };
}

export const DEFAULT_SCENARIO: GraphScenario = { probes: 4, soakSecs: 1800 };

export interface GraphBench {
  readonly full: Pair;
  /** the same, with the outbound path (envelope, queue, drain POST, ack) stubbed out */
  readonly stubbed: Pair;
  /** the graph against agentStep() + the same sinks (see replayWithSinks) */
  readonly vsSinks: Pair;
  /** agentStep() + the sinks against agentStep() alone: about the best a graph could do */
  readonly sinksVsStep: Pair;
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
  const withSinks = replayWithSinks(recorded);
  if (withSinks.state.hosts[ROLLOUT]?.lastEventSeq !== a?.lastEventSeq || withSinks.delivered !== first.delivered) {
    throw new Error(`graph bench: the sinks baseline delivered ${withSinks.delivered} events, the graph ${first.delivered}`);
  }
  // Give the bare loop about as long a block as one graph rollout takes.
  const graphMs = timed(() => runGraphRollout(sc)).seconds * 1000;
  const reps = calibrate(() => replayAgentStep(recorded), Math.max(5, graphMs));
  const baseline = () => {
    for (let i = 0; i < reps; i++) replayAgentStep(recorded);
    return reps * recorded.length;
  };
  const full = interleave(() => runGraphRollout(sc).inputs, baseline, blocks);
  const stubbed = interleave(() => runGraphRollout(sc, undefined, true).inputs, baseline, Math.max(3, Math.ceil(blocks / 2)));
  const sinksReps = calibrate(() => replayWithSinks(recorded), Math.max(5, graphMs));
  const sinksBaseline = () => {
    for (let i = 0; i < sinksReps; i++) replayWithSinks(recorded);
    return sinksReps * recorded.length;
  };
  const vsSinks = interleave(() => runGraphRollout(sc).inputs, sinksBaseline, Math.max(3, Math.ceil(blocks / 2)));
  const sinksVsStep = interleave(sinksBaseline, baseline, Math.max(3, Math.ceil(blocks / 2)));
  return { full, stubbed, vsSinks, sinksVsStep, inputsPerRollout: recorded.length };
}

export function graphReport(quick: boolean): { rows: Row[]; notes: string[] } {
  const sc = DEFAULT_SCENARIO;
  const r = graphBench(sc, quick ? 5 : 15);
  return {
    rows: [rateRow(`whole graph vs agentStep() alone (1 rollout, ${sc.probes} probes, ${r.inputsPerRollout.toLocaleString('en-US')} inputs)`, r.full, { atLeast: 0.5 })],
    notes: [
      `graph row: one rollout in virtual time on in-memory ports (src/testing, via bench/ports.ts), every input recorded and replayed through agentStep() for the baseline;`,
      `  with the outbound path stubbed (no envelope, queue row, drain POST or ack per event) the graph runs ${fmtRate(r.stubbed.ours)} inputs/s, ratio ${r.stubbed.ratio.toFixed(2)};`,
      `  agentStep() + the same sinks (each event's envelope, queue row, POST and ack; no sources, mailbox or timers) keeps ${r.sinksVsStep.ratio.toFixed(2)} of agentStep()'s rate,`,
      `  about the most a graph could keep; the graph keeps ${r.vsSinks.ratio.toFixed(2)} of that rate (what the plumbing costs).`,
    ],
  };
}

if (require.main === module) {
  const r = graphReport(process.argv.includes('--quick'));
  printTable(r.rows);
  for (const n of r.notes) console.log(n);
}

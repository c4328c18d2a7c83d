// The floor under the plumbing row: what any graph must spend beyond
// agentStep() + the sinks' work, measured. A first graph run records, in
// order, every reducer input, every port call the graph makes and every
// task the clock runs; the floor replays that recording in a bare loop —
// each input through agentStep() and the applier, each port call made on the
// same in-memory ports and subscribed as an Observable (the ports' contract),
// each clock task scheduled and run on a VirtualClock — with nothing between
// them: no sources, mailbox, scan, channels or operators. A graph cannot keep
// more of agentStep() + the sinks' rate than this loop does.
import { Observable, type Observer } from 'rxjs';
import { fromEpochMillis } from '../src/codecs/timestamp';
import { silentLogger } from '../src/ports/logger';
import { agentStep, DEFAULT_AGENT_REDUCER_CONFIG, initialAgentState, type AgentState } from '../src/reducer/agent';
import { createApplier } from '../src/sinks/applier';
import { ACTIVATION_INTENT_CAPACITY, type AgentPorts } from '../src/streams';
import { VirtualClock } from '../src/testing';
import { runGraphRollout, scenarioPorts, type GraphScenario, type Recorded } from './graph';
import { LeanQueue } from './ports';

type PortName = Exclude<keyof AgentPorts, 'confirmed'>;
// enqueueNow is the sinks' work (the applier calls it); the rest are the graph's calls.
const CALLS: Readonly<Record<PortName, readonly string[]>> = {
  cp: ['dispatch', 'heartbeat', 'postEvent'],
  manifests: ['refresh', 'ensureForDispatch'],
  activation: ['activate', 'rollback'],
  probes: ['declarations', 'run'],
  host: ['currentClosure'],
  cert: ['validity', 'renew'],
  queue: ['pending', 'ack', 'deadLetter', 'stats', 'deadLetters'],
};

export type Op =
  | { readonly kind: 'input'; readonly recorded: Recorded }
  | { readonly kind: 'call'; readonly port: PortName; readonly method: string; readonly args: readonly unknown[] }
  | { readonly kind: 'tasks'; readonly count: number };

/** One graph rollout, recorded as ops: each port call (after the clock tasks run since the last op) before it is made, each input. */
export function recordFloor(sc: GraphScenario): Op[] {
  const ops: Op[] = [];
  let flush = (): void => {};
  runGraphRollout(
    sc,
    (recorded) => {
      flush();
      ops.push({ kind: 'input', recorded });
    },
    false,
    (ports, clock) => {
      const r = recordingPorts(ports, clock, ops);
      flush = r.flushTasks;
      return r.ports;
    },
  );
  return ops;
}

function recordingPorts(ports: AgentPorts, clock: VirtualClock, ops: Op[]): { readonly ports: AgentPorts; readonly flushTasks: () => void } {
  let executed = clock.executed;
  const flushTasks = (): void => {
    if (clock.executed > executed) ops.push({ kind: 'tasks', count: clock.executed - executed });
    executed = clock.executed;
  };
  const wrap = <T extends object>(port: PortName, target: T): T =>
    new Proxy(target, {
      get(t, key, receiver) {
        const v = Reflect.get(t, key, receiver) as unknown;
        if (typeof v !== 'function' || typeof key !== 'string' || !CALLS[port].includes(key)) return v;
        return (...args: unknown[]) => {
          flushTasks();
          ops.push({ kind: 'call', port, method: key, args });
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const out = {} as Record<PortName, object>;
  for (const name of Object.keys(CALLS) as PortName[]) out[name] = wrap(name, ports[name]);
  return { ports: out as unknown as AgentPorts, flushTasks };
}

const ignore: Observer<unknown> = { next: () => {}, error: () => {}, complete: () => {} };
function noTask(): void {}

/** The recording replayed in a bare loop (see the top of this file); returns the final state and the events acknowledged. */
export function replayFloor(ops: readonly Op[], sc: GraphScenario): { readonly state: AgentState; readonly acked: number } {
  const clock = new VirtualClock(0);
  const ports = scenarioPorts(clock, sc, new LeanQueue());
  let now = fromEpochMillis(0);
  const apply = createApplier({
    intents: { offer: () => true, capacity: ACTIVATION_INTENT_CAPACITY, feedback: () => {}, now: () => now, logger: silentLogger },
    outbound: { queue: ports.queue, machineId: 'web-01', kick: () => {}, logger: silentLogger },
    probes: () => {},
    logger: silentLogger,
  });
  let state = initialAgentState();
  let acked = 0;
  const countAck: Observer<unknown> = { next: (v) => (acked += typeof v === 'number' ? v : 0), error: () => {}, complete: () => {} };
  for (const op of ops) {
    if (op.kind === 'tasks') {
      for (let i = 0; i < op.count; i++) clock.schedule(noTask);
      clock.runUntil(clock.now());
    } else if (op.kind === 'call') {
      const port = ports[op.port] as unknown as Record<string, (...a: unknown[]) => unknown>;
      const out = (port[op.method] as (...a: unknown[]) => unknown).apply(port, op.args as unknown[]);
      if (out instanceof Observable) (out as Observable<unknown>).subscribe(op.method === 'ack' ? countAck : ignore).unsubscribe();
    } else {
      now = op.recorded.now;
      const t = agentStep(state, op.recorded.input, now, DEFAULT_AGENT_REDUCER_CONFIG);
      state = t.state;
      for (const effect of t.effects) apply(effect);
    }
  }
  return { state, acked };
}

// Builds the whole agent graph on in-memory fakes, inside TestScheduler.run
// (virtual time), recording every input and effect with its virtual time.
import { asyncScheduler, map, timer, type Observable } from 'rxjs';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { DispatchAnswer } from '../../src/ports/control-plane';
import type { ManifestSet } from '../../src/ports/manifests';
import type { ProbeDeclaration } from '../../src/ports/probes';
import type { AgentEffect, ReducerInput } from '../../src/reducer/agent';
import { createAgentGraph, type AgentGraph, type StopResult } from '../../src/streams';
import { MemoryQueue } from '../fakes/memory-queue';
import { FakeActivation, FakeCert, FakeControlPlane, FakeHost, FakeManifests, FakeProbes, manifestSet, MemoryLogger } from '../fakes/ports';

export interface HarnessOptions {
  readonly manifests?: ManifestSet;
  readonly probes?: readonly ProbeDeclaration[];
  readonly bootstrap$?: Observable<HostRolloutSnapshot>;
  readonly seqFloors?: Readonly<Record<string, number>>;
}

export interface Harness {
  readonly graph: AgentGraph;
  readonly cp: FakeControlPlane;
  readonly manifests: FakeManifests;
  readonly activation: FakeActivation;
  readonly probes: FakeProbes;
  readonly host: FakeHost;
  readonly queue: MemoryQueue;
  readonly logger: MemoryLogger;
  readonly inputs: { at: number; input: ReducerInput }[];
  readonly effects: { at: number; effect: AgentEffect }[];
  stopAt(ms: number): { result?: StopResult; at?: number };
  /** `kind` of each state transition with its virtual time in seconds, e.g. `130:Soaking→Failed`. */
  transitions(): string[];
  /** Wire events handed to the queue, as `kind:seq`. */
  queued(): string[];
}

export function harness(opts: HarnessOptions = {}): Harness {
  const s = asyncScheduler;
  const cp = new FakeControlPlane(s);
  const manifests = new FakeManifests(opts.manifests ?? manifestSet());
  const activation = new FakeActivation(s);
  const probes = new FakeProbes(s, opts.probes ?? []);
  const host = new FakeHost('prior-closure');
  const queue = new MemoryQueue();
  const logger = new MemoryLogger();
  const graph = createAgentGraph({
    ports: { cp, manifests, activation, probes, host, cert: new FakeCert(), queue },
    config: { machineId: 'web-01', ...(opts.bootstrap$ ? { bootstrap$: opts.bootstrap$ } : {}), ...(opts.seqFloors ? { seqFloors: opts.seqFloors } : {}) },
    scheduler: s,
    logger,
  });
  const inputs: Harness['inputs'] = [];
  const effects: Harness['effects'] = [];
  graph.inputs$.subscribe((input) => inputs.push({ at: s.now(), input }));
  graph.effects$.subscribe((effect) => effects.push({ at: s.now(), effect }));
  s.schedule(() => graph.start()); // at virtual time 0, after the test has scripted its fakes
  return {
    graph,
    cp,
    manifests,
    activation,
    probes,
    host,
    queue,
    logger,
    inputs,
    effects,
    stopAt(ms) {
      const out: { result?: StopResult; at?: number } = {};
      s.schedule(() => graph.stop().subscribe((r) => Object.assign(out, { result: r, at: s.now() })), ms);
      return out;
    },
    transitions: () =>
      effects.flatMap(({ at, effect }) => (effect.kind === 'RecordTransition' ? [`${at / 1000}:${effect.from}→${effect.to}`] : [])),
    queued: () => queue.history.map((b) => {
      const e = JSON.parse(b) as { event: { kind: string; seq: number } };
      return `${e.event.kind}:${e.event.seq}`;
    }),
  };
}

/** A dispatch for `rolloutId` answered `afterMs` into the first long-poll. */
export function dispatchAfter(afterMs: number, soakDueAtMs: number, rolloutId = 'stable@r1', target = 'target-closure'): () => Observable<DispatchAnswer> {
  return () =>
    timer(afterMs).pipe(
      map((): DispatchAnswer => ({
        kind: 'dispatch',
        dispatch: { hostname: 'web-01', rolloutId, targetClosure: target, soakDueAt: fromEpochMillis(soakDueAtMs), enqueuedAt: fromEpochMillis(afterMs) },
      })),
    );
}

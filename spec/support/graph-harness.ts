// Builds the whole agent graph on in-memory fakes, on the virtual clock the
// spec hands in (a TestScheduler in run mode, or a plain VirtualTimeScheduler),
// recording every input and effect with its virtual time. Nothing here uses
// rxjs's default scheduler: every port, timer and callback gets the clock.
import { map, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { DispatchAnswer } from '../../src/ports/control-plane';
import type { ManifestSet } from '../../src/ports/manifests';
import type { ProbeDeclaration } from '../../src/ports/probes';
import type { AgentEffect, ReducerInput } from '../../src/reducer/agent';
import { createAgentGraph, type AgentGraph, type AgentGraphConfig, type StopResult } from '../../src/streams';
import { MemoryQueue } from '../fakes/memory-queue';
import { FakeActivation, FakeCert, FakeControlPlane, FakeHost, FakeManifests, FakeProbes, manifestSet, MemoryLogger } from '../fakes/ports';

export interface HarnessOptions {
  readonly manifests?: ManifestSet;
  readonly probes?: readonly ProbeDeclaration[];
  readonly bootstrap$?: Observable<HostRolloutSnapshot>;
  readonly seqFloors?: Readonly<Record<string, number>>;
  readonly renewalThresholdFraction?: number;
}

export interface Harness {
  readonly graph: AgentGraph;
  readonly cp: FakeControlPlane;
  readonly manifests: FakeManifests;
  readonly activation: FakeActivation;
  readonly probes: FakeProbes;
  readonly host: FakeHost;
  readonly cert: FakeCert;
  readonly queue: MemoryQueue;
  readonly logger: MemoryLogger;
  readonly inputs: { at: number; input: ReducerInput }[];
  readonly effects: { at: number; effect: AgentEffect }[];
  /** Runs `work` at virtual time `ms`. */
  at(work: () => void, ms: number): void;
  stopAt(ms: number): { result?: StopResult; at?: number };
  /** A dispatch for `rolloutId` answered `afterMs` into the long-poll it is scripted for. */
  dispatchAfter(afterMs: number, soakDueAtMs: number, rolloutId?: string, target?: string): () => Observable<DispatchAnswer>;
  /** `kind` of each state transition with its virtual time in seconds, e.g. `130:Soaking→Failed`. */
  transitions(): string[];
  /** Wire events handed to the queue, as `kind:seq`. */
  queued(): string[];
}

export function harness(s: SchedulerLike, opts: HarnessOptions = {}): Harness {
  const cp = new FakeControlPlane(s);
  const manifests = new FakeManifests(opts.manifests ?? manifestSet());
  const activation = new FakeActivation(s);
  const probes = new FakeProbes(s, opts.probes ?? []);
  const host = new FakeHost('prior-closure');
  const cert = new FakeCert();
  const queue = new MemoryQueue();
  const logger = new MemoryLogger();
  const config: AgentGraphConfig = {
    machineId: 'web-01',
    ...(opts.bootstrap$ ? { bootstrap$: opts.bootstrap$ } : {}),
    ...(opts.seqFloors ? { seqFloors: opts.seqFloors } : {}),
    ...(opts.renewalThresholdFraction !== undefined ? { renewalThresholdFraction: opts.renewalThresholdFraction } : {}),
  };
  const graph = createAgentGraph({ ports: { cp, manifests, activation, probes, host, cert, queue }, config, scheduler: s, logger });
  const inputs: Harness['inputs'] = [];
  const effects: Harness['effects'] = [];
  graph.inputs$.subscribe((input) => inputs.push({ at: s.now(), input }));
  graph.effects$.subscribe((effect) => effects.push({ at: s.now(), effect }));
  const at = (work: () => void, ms: number): void => void s.schedule(work, ms - s.now());
  // Starts at virtual time 0 after everything the spec set up for time 0 (its
  // scripts, and the subscriptions of expectObservable), hence the second hop.
  at(() => at(() => graph.start(), 0), 0);
  return {
    graph,
    cp,
    manifests,
    activation,
    probes,
    host,
    cert,
    queue,
    logger,
    inputs,
    effects,
    at,
    stopAt(ms) {
      const out: { result?: StopResult; at?: number } = {};
      at(() => graph.stop().subscribe((r) => Object.assign(out, { result: r, at: s.now() })), ms);
      return out;
    },
    dispatchAfter: (afterMs, soakDueAtMs, rolloutId = 'stable@r1', target = 'target-closure') => () =>
      timer(afterMs, s).pipe(
        map((): DispatchAnswer => ({
          kind: 'dispatch',
          dispatch: { hostname: 'web-01', rolloutId, targetClosure: target, soakDueAt: fromEpochMillis(soakDueAtMs), enqueuedAt: fromEpochMillis(afterMs) },
        })),
      ),
    transitions: () => effects.flatMap(({ at, effect }) => (effect.kind === 'RecordTransition' ? [`${at / 1000}:${effect.from}→${effect.to}`] : [])),
    queued: () =>
      queue.history.map((b) => {
        const e = JSON.parse(b) as { event: { kind: string; seq: number } };
        return `${e.event.kind}:${e.event.seq}`;
      }),
  };
}

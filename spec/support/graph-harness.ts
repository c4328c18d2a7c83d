// Builds the whole agent graph on in-memory fakes, on the virtual clock the
// spec hands in (a TestScheduler in run mode, or a plain VirtualTimeScheduler),
// recording every input and effect with its virtual time. Nothing here uses
// rxjs's default scheduler: every port, timer and callback gets the clock.
import { defer, distinctUntilChanged, map, Subject, timer, type Observable, type SchedulerLike } from 'rxjs';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { ActivationPort } from '../../src/ports/activation';
import type { ControlPlanePort, DispatchAnswer } from '../../src/ports/control-plane';
import type { ManifestSet } from '../../src/ports/manifests';
import type { ProbeDeclaration } from '../../src/ports/probes';
import type { AgentEffect, ReducerInput } from '../../src/reducer/agent';
import { createAgentGraph, type AgentGraph, type AgentGraphConfig, type StopResult } from '../../src/streams';
import { MemoryQueue } from '../fakes/memory-queue';
import { FakeActivation, FakeCert, FakeControlPlane, FakeHost, FakeManifests, FakeProbes, manifestSet, MemoryLogger } from '../fakes/ports';

/** The fakes' scripts, and graph config passed through as given. */
export interface HarnessOptions extends Pick<AgentGraphConfig, 'bootstrap$' | 'seqFloors' | 'renewalThresholdFraction' | 'sustainedFailureThresholdSecs'> {
  readonly manifests?: ManifestSet;
  readonly probes?: readonly ProbeDeclaration[];
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
  /** Each CP and activation request as it is made: dispatch, heartbeat, post, switch, rollback. */
  readonly requests$: Observable<string>;
  /** The rollout's state after each turn that changed it ('none' before it exists). */
  rolloutState$(rolloutId?: string): Observable<string>;
  /** Each effect as it is applied: its kind, or the wire event's kind for LocalEmitEvent. */
  readonly effectKinds$: Observable<string>;
  /** Runs `work` at virtual time `ms`. */
  at(work: () => void, ms: number): void;
  stopAt(ms: number): { result?: StopResult; at?: number };
  /** A dispatch for `rolloutId` answered `afterMs` into the long-poll it is scripted for. */
  dispatchAfter(afterMs: number, soakDueAtMs: number, rolloutId?: string, target?: string): () => Observable<DispatchAnswer>;
  /** Wire events handed to the queue, as `kind:seq`. */
  queued(): string[];
}

/** Marble values for rolloutState$. */
export const STATES = { n: 'none', a: 'Activating', s: 'Soaking', c: 'Converged', f: 'Failed', r: 'Reverted' } as const;

export function harness(s: SchedulerLike, opts: HarnessOptions = {}): Harness {
  const cp = new FakeControlPlane(s);
  const manifests = new FakeManifests(opts.manifests ?? manifestSet());
  const activation = new FakeActivation(s);
  const probes = new FakeProbes(s, opts.probes ?? []);
  const host = new FakeHost('prior-closure');
  const cert = new FakeCert();
  const queue = new MemoryQueue();
  const logger = new MemoryLogger();
  const { manifests: _manifests, probes: _probes, ...passed } = opts;
  const config: AgentGraphConfig = { machineId: 'web-01', ...passed };
  // The graph gets wrappers, so a spec can still replace a fake's method.
  const requests$ = new Subject<string>();
  const asked =
    <A extends unknown[], R>(name: string, call: (...args: A) => Observable<R>) =>
    (...args: A): Observable<R> =>
      defer(() => {
        requests$.next(name);
        return call(...args);
      });
  const fake: { cp: ControlPlanePort; activation: ActivationPort } = { cp, activation };
  const cpPort: ControlPlanePort = {
    dispatch: asked('dispatch', (w) => fake.cp.dispatch(w)),
    heartbeat: asked('heartbeat', (b) => fake.cp.heartbeat(b)),
    postEvent: asked('post', (b) => fake.cp.postEvent(b)),
  };
  const activationPort: ActivationPort = {
    activate: asked('switch', (c, v, o) => fake.activation.activate(c, v, o)),
    rollback: asked('rollback', (c, p, f, o) => fake.activation.rollback(c, p, f, o)),
  };
  const graph = createAgentGraph({ ports: { cp: cpPort, manifests, activation: activationPort, probes, host, cert, queue }, config, scheduler: s, logger });
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
    requests$: requests$.asObservable(),
    rolloutState$: (rolloutId = 'stable@r1') =>
      graph.states$.pipe(
        map((st) => st.hosts[rolloutId]?.state ?? 'none'),
        distinctUntilChanged(),
      ),
    effectKinds$: graph.effects$.pipe(map((e) => (e.kind === 'LocalEmitEvent' ? e.payload.kind : e.kind))),
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
    queued: () =>
      queue.history.map((b) => {
        const e = JSON.parse(b) as { event: { kind: string; seq: number } };
        return `${e.event.kind}:${e.event.seq}`;
      }),
  };
}

// The agent's stream graph: sources merged into one mailbox, one `scan`
// over agentStep(), effects routed to the applier (design §2; the upstream
// runtime's MPSC + reducer + applier, reference agent-runtime.md §1).
//
//   boot snapshots ─┐ (first, before any source)
//   advance ticker ─┤
//   longpoll ───────┤
//   heartbeat ──────┤
//   manifest poll ──┼─▶ mailbox(64) ─▶ scan(agentStep) ─▶ effects ─▶ applier
//   probe worker ◀──┤                                                 │
//   activation ◀────┤          probe commands (latest) ◀──────────────┤
//   feedback ───────┘          activation intents (4) ◀───────────────┤
//                              durable queue + drain kick ◀───────────┘
//   outbound drain, cert renewal: no reducer input
//
// Invariants (design §2):
// 1. One mutator: only the `scan` below calls agentStep()/step().
// 2. The same step() as the CP mirror (src/reducer/step.ts).
// 3. Shutdown is one signal: `stop()` fires shutdown$; sources stop taking
//    work, in-flight work finishes within DRAIN_DEADLINE_MS, then everything
//    is unsubscribed.
// 4. Bounded: the mailbox and the channels below have fixed capacities.
// 5. Time is the injected scheduler's.
// 6. Effects are applied in order, inside the turn that produced them and
//    before the next input is taken (state is updated first).
// 7. Only CI-signed intent changes the host: a switch fires for the closure a
//    verified manifest names for this rollout and machine id, checked by the
//    reducer's guard, again by the activation worker when it fires, and by the
//    adapter; CP snapshots only inform (src/reducer/guard.ts, snapshots.ts).
//
// In virtual time: a running graph always has a timer due (the ticker, the
// heartbeat, a held long-poll), so "run until nothing is due" — rxjs's
// VirtualTimeScheduler.flush() — never returns on a graph that was never
// stopped. Bounded ways out: stop() first (every timer is gone within
// DRAIN_DEADLINE_MS of virtual time, then flush() returns); a horizon
// (`new VirtualTimeScheduler(VirtualAction, maxFrames)`); or advancing to a
// time (`nixfleet-agent/testing`: runFor, runUntil, and flush(), which
// stops first). Pinned by spec/testing/fleet.spec.ts.
import { concat, EMPTY, finalize, map, merge, mergeMap, Observable, of, race, ReplaySubject, scan, share, Subject, Subscriber, take, toArray, type SchedulerLike, type Subscription } from 'rxjs';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';
import type { SignedIntent } from '../codecs/intent';
import type { ActivationIntent, ActivationPort } from '../ports/activation';
import type { ControlPlanePort } from '../ports/control-plane';
import type { CertPort, HostPort } from '../ports/host';
import type { Logger } from '../ports/logger';
import type { ManifestPort } from '../ports/manifests';
import type { ProbePort } from '../ports/probes';
import type { ConfirmedClosurePort, OutboundQueuePort } from '../ports/store';
import { agentStep, initialAgentState, type AgentEffect, type AgentReducerConfig, type AgentState, type AgentTransition, type ReducerInput } from '../reducer/agent';
import { SUSTAINED_FAILURE_THRESHOLD_SECS } from '../reducer/tick';
import { createApplier } from '../sinks/applier';
import { activationWorker } from '../sources/activation';
import { advanceTicker, TICK_INTERVAL_MS } from '../sources/advance-ticker';
import { certRenewal } from '../sources/cert-renewal';
import { BoundedQueue, latestChannel } from '../sources/channels';
import { cachedNow, type SourceContext } from '../sources/context';
import { heartbeat, HEARTBEAT_INTERVAL_MS } from '../sources/heartbeat';
import { longpoll } from '../sources/longpoll';
import { manifestPoll, MANIFEST_POLL_INTERVAL_MS } from '../sources/manifest-poll';
import { isolate } from '../sources/operators';
import { DRAIN_INTERVAL_MS, outboundDrain } from '../sources/outbound-drain';
import { probeWorker, type ProbeCommand } from '../sources/probe';
import { after } from '../sources/time';
import { postableMailbox } from './mailbox';

// Reducer input capacity. Upstream sizes it at 64 for a rollout's peak burst
// (dispatch, activation start/end, ~10 probes' first/failure/result, converge)
// with 2x slack. Here the reducer and the sinks never wait on I/O, so the
// mailbox only holds inputs posted during one turn (sink feedback, synchronous
// port answers); 64 keeps upstream's figure as a generous bound. Overflow:
// the input is dropped, logged as an error and counted (stats.inputsDropped).
export const REDUCER_INPUT_CAPACITY = 64;

// Activation intents, upstream's 4. At most one switch runs at a time and a
// host has one live rollout per channel; 4 covers a rollback queued behind a
// running switch with room to spare. Overflow: see src/sinks/activation-intents.ts.
export const ACTIVATION_INTENT_CAPACITY = 4;

// Probe commands: capacity 1, latest wins. A reset replaces the whole probe
// set, so an older pending reset or stop has no meaning once a newer one exists
// (upstream's 4-slot channel would run superseded resets one after another).

// Drain kicks: a latest-value channel too; a burst of kicks during a drain
// pass collapses into one more pass after it (the drain worker in
// src/sources/outbound-drain.ts), and the drain also runs every 15 s.

/** Whole graph must wind down within this after stop() (systemd's stop timeout is larger). */
export const DRAIN_DEADLINE_MS = 25_000;

export interface AgentPorts {
  readonly cp: ControlPlanePort;
  readonly manifests: ManifestPort;
  readonly activation: ActivationPort;
  readonly probes: ProbePort;
  readonly host: HostPort;
  readonly cert: CertPort;
  readonly queue: OutboundQueuePort;
  /** Records each ConfirmClosure effect (the daemon's store); optional for embedded agents. */
  readonly confirmed?: ConfirmedClosurePort;
}

export interface AgentGraphConfig {
  /** This host's machine id: the CN of its certificate and the `hostname` on the wire. */
  readonly machineId: string;
  /** Renew the client cert below this remaining fraction of validity; undefined disables renewal. */
  readonly renewalThresholdFraction?: number;
  readonly sustainedFailureThresholdSecs?: number;
  /** Periods of the periodic workers; defaults are upstream's. Compressed only by demos and tests. */
  readonly periodsMs?: Partial<{ readonly tick: number; readonly heartbeat: number; readonly manifestPoll: number; readonly drain: number }>;
  /** Highest seq ever queued per rollout (from the durable queue), so no seq is reused. */
  readonly seqFloors?: Readonly<Record<string, number>>;
  /** Rollout records saved before a restart (a warm start: CP snapshots then merge into them). */
  readonly hosts?: Readonly<Record<string, HostRolloutState>>;
  /** The signed intents saved with those records: only these can be resumed. */
  readonly intents?: Readonly<Record<string, SignedIntent>>;
  /** Boot-recovery snapshots; all are applied, in one turn, before any source starts. */
  readonly bootstrap$?: Observable<HostRolloutSnapshot>;
  /**
   * Commits each turn: called once per turn, after the state is updated, with
   * the function that applies the turn's effects; it must call it before it
   * returns (invariant 6). The daemon wraps it in one store transaction with
   * the turn's records (src/daemon/turn-commit.ts). Default: apply them.
   */
  readonly commitTurn?: CommitTurn;
}

/** How a turn's effects are committed: `applyEffects` runs them (once), inside whatever the committer wraps around it. */
export type CommitTurn = (state: AgentState, applyEffects: () => void) => void;

export interface AgentGraphDeps {
  readonly ports: AgentPorts;
  readonly config: AgentGraphConfig;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
}

export interface GraphStats {
  readonly inputsDropped: number;
  readonly eventsDelivered: number;
  readonly lastContactAt?: string;
}

export type StopResult = 'drained' | 'deadline';

export interface AgentGraph {
  /** Every input in the order the reducer took it. */
  readonly inputs$: Observable<ReducerInput>;
  /** The agent state after each turn (replays the current one on subscribe). */
  readonly states$: Observable<AgentState>;
  /** Every effect, in order, as it is applied. */
  readonly effects$: Observable<AgentEffect>;
  readonly state: () => AgentState;
  readonly stats: () => GraphStats;
  /** Feed an input as if a source had produced it (tests, tools). */
  post(input: ReducerInput): void;
  /** Subscribe everything. Idempotent. */
  start(): void;
  /** Signal shutdown; emits once when drained or when the deadline forced it. */
  stop(): Observable<StopResult>;
}

const NO_EFFECTS: readonly AgentEffect[] = [];

/** Builds the graph; nothing runs until `start()`. */
export function createAgentGraph(deps: AgentGraphDeps): AgentGraph {
  const { ports, config, scheduler, logger } = deps;
  const periods = config.periodsMs ?? {};
  const reducerConfig: AgentReducerConfig = {
    sustainedFailureThresholdSecs: config.sustainedFailureThresholdSecs ?? SUSTAINED_FAILURE_THRESHOLD_SECS,
    machineId: config.machineId,
  };
  const shutdown$ = new ReplaySubject<void>(1);
  const ctx: SourceContext = { scheduler, logger, shutdown$ };
  const now = cachedNow(scheduler);

  const inputs$ = new Subject<ReducerInput>();
  const effects$ = new Subject<AgentEffect>();
  // The state after the last turn, and a stream of it fed only while someone
  // watches, starting with the current one as a BehaviorSubject would (its
  // next() on every turn was 0.6% of the graph bench's rollout in
  // instructions, cachegrind, 2026-12-02).
  let current = initialAgentState(config.seqFloors, config.hosts, config.intents);
  const liveStates = new Subject<AgentState>();
  const states$ = new Observable<AgentState>((subscriber) => {
    // A completed Subject completes the subscriber at once (closed): then no value, as BehaviorSubject.
    if (!liveStates.subscribe(subscriber).closed) subscriber.next(current);
  });
  // Sink feedback and post() go straight into the reducer's queue.
  const inbox = postableMailbox<ReducerInput>(REDUCER_INPUT_CAPACITY, (dropped) => {
    counts.inputsDropped += 1;
    snapshot = undefined;
    logger.error('reducer input queue full; input dropped', { kind: dropped.kind, capacity: REDUCER_INPUT_CAPACITY });
  });
  // The channels complete themselves from shutdown$ (invariant 3).
  const intents = new BoundedQueue<ActivationIntent>(ACTIVATION_INTENT_CAPACITY, shutdown$);
  const probeCommands = latestChannel<ProbeCommand>(shutdown$);
  const kicks = latestChannel<void>(shutdown$);
  const counts = { inputsDropped: 0, eventsDelivered: 0, lastContactAt: undefined as string | undefined };
  // stats() hands out one immutable snapshot until a counter moves (a delivery
  // is counted per event: no copy per event).
  let snapshot: GraphStats | undefined;
  const stats = (): GraphStats =>
    (snapshot ??= {
      inputsDropped: counts.inputsDropped,
      eventsDelivered: counts.eventsDelivered,
      ...(counts.lastContactAt !== undefined ? { lastContactAt: counts.lastContactAt } : {}),
    });
  let stopping = false;

  const apply = createApplier({
    intents: { offer: (i) => intents.offer(i), capacity: ACTIVATION_INTENT_CAPACITY, feedback: (i) => inbox.post(i), now, logger },
    outbound: { queue: ports.queue, machineId: config.machineId, kick: () => kicks.offer(), logger },
    probes: (command) => probeCommands.offer(command),
    ...(ports.confirmed !== undefined ? { confirmed: ports.confirmed } : {}),
    logger,
  });

  // Everything that feeds the reducer. When all of it has finished after a
  // stop, nothing can queue another event: the drain makes its last pass.
  const producersDone$ = new ReplaySubject<void>(1);
  const producers = [
    advanceTicker(ctx, periods.tick ?? TICK_INTERVAL_MS).pipe(isolate('advance ticker', ctx)),
    longpoll({ cp: ports.cp, manifests: ports.manifests, host: ports.host, machineId: config.machineId }, ctx).pipe(isolate('longpoll', ctx)),
    heartbeat(
      {
        cp: ports.cp,
        host: ports.host,
        machineId: config.machineId,
        kick: () => kicks.offer(),
        onContact: () => {
          counts.lastContactAt = now();
          snapshot = undefined;
        },
      },
      ctx,
      periods.heartbeat ?? HEARTBEAT_INTERVAL_MS,
    ).pipe(isolate('heartbeat', ctx)),
    manifestPoll(ports.manifests, ctx, periods.manifestPoll ?? MANIFEST_POLL_INTERVAL_MS).pipe(isolate('manifest poll', ctx)),
    probeWorker(ports.probes, probeCommands.values$, ctx).pipe(isolate('probe worker', ctx)),
    activationWorker({ port: ports.activation, manifests: ports.manifests, machineId: config.machineId }, intents, ctx).pipe(isolate('activation worker', ctx)),
  ];
  const sideWorkers = [
    outboundDrain(
      {
        cp: ports.cp,
        queue: ports.queue,
        kick$: kicks.values$,
        onDelivered: () => {
          counts.eventsDelivered += 1;
          snapshot = undefined;
        },
        finalPass$: producersDone$,
      },
      ctx,
      periods.drain ?? DRAIN_INTERVAL_MS,
    ).pipe(isolate('outbound drain', ctx)),
    certRenewal(ports.cert, config.renewalThresholdFraction, ctx).pipe(isolate('cert renewal', ctx)),
  ];
  // One flat merge, the producers' ends counted (finalize adds no step per
  // value): each merge level was one more call per input on its way to the scan.
  let producersLeft = producers.length;
  const producerEnded = (): void => {
    if (--producersLeft === 0) producersDone$.next();
  };
  const sources$ = merge(...producers.map((p) => p.pipe(finalize(producerEnded))), ...sideWorkers);
  // Boot snapshots first, then (after a restart with saved records) resume
  // whatever a killed agent left half done, then the sources.
  const boot$ = concat(
    (config.bootstrap$ ?? EMPTY).pipe(
      toArray(),
      mergeMap((snapshots) => (snapshots.length === 0 ? EMPTY : of<ReducerInput>({ kind: 'BootstrapHosts', snapshots }))),
    ),
    Object.keys(config.hosts ?? {}).length > 0 ? of<ReducerInput>({ kind: 'ResumeInterrupted' }) : EMPTY,
  );

  // One reducer turn per input: the only caller of agentStep() (invariant 1).
  // The scan's value is agentStep's own transition; the input it came from
  // is kept beside it (the mailbox never re-enters a turn).
  let turnInput: ReducerInput | undefined;
  const turns$ = afterFirst(boot$, sources$).pipe(
    inbox.operator,
    scan((prev: AgentTransition, input: ReducerInput): AgentTransition => {
      turnInput = input;
      return agentStep(prev.state, input, now(), reducerConfig);
    }, { state: current, effects: NO_EFFECTS } as AgentTransition),
  );

  // The mailbox never re-enters a turn, so its effects can sit in one
  // variable and `applyEffects` is one function for every turn. (rxjs's
  // Subject.next allocates even without observers; the streams only exposed
  // for tests and tools are fed when someone listens.)
  const commitTurn: CommitTurn = config.commitTurn ?? ((_state, applyEffects) => applyEffects());
  let turnEffects: readonly AgentEffect[] = NO_EFFECTS;
  const applyEffects = (): void => {
    const effects = turnEffects;
    turnEffects = NO_EFFECTS; // applied once, even if a hook called this twice
    for (const effect of effects) {
      if (effects$.observed) effects$.next(effect);
      apply(effect);
    }
  };
  const afterTurn = (t: AgentTransition): void => {
    if (turnInput !== undefined && inputs$.observed) inputs$.next(turnInput);
    current = t.state;
    if (liveStates.observed) liveStates.next(current);
    turnEffects = t.effects;
    commitTurn(t.state, applyEffects);
  };
  let running: Subscription | undefined;
  const done$ = new ReplaySubject<void>(1);

  return {
    inputs$: inputs$.asObservable(),
    states$,
    effects$: effects$.asObservable(),
    state: () => current,
    stats,
    post: (input) => inbox.post(input),
    start() {
      if (running !== undefined) return;
      running = turns$.subscribe(new TurnSink(afterTurn, () => done$.next()));
    },
    stop() {
      if (running === undefined) return of<StopResult>('drained');
      if (!stopping) {
        stopping = true;
        logger.info('stopping: finishing in-flight work', { deadlineMs: DRAIN_DEADLINE_MS });
        // The one signal. The activation worker still finishes its running
        // pipeline (and any rollback that pipeline's failure queues), then
        // completes; a switch already running in its own unit is left to
        // finish without us and resumed after the restart
        // (PipelineOptions.leaveRunningOn).
        shutdown$.next();
      }
      return race(done$.pipe(map((): StopResult => 'drained')), after(ctx, DRAIN_DEADLINE_MS).pipe(map((): StopResult => 'deadline'))).pipe(
        take(1),
        finalize(() => {
          running?.unsubscribe();
          inputs$.complete();
          effects$.complete();
          liveStates.complete();
        }),
        share({ connector: () => new ReplaySubject(1), resetOnRefCountZero: false }),
      );
    },
  };
}

// The turns' consumer as a Subscriber of its own: an observer object would
// get a SafeSubscriber and a ConsumerObserver around it (two calls per turn).
// An error goes where it went before: rxjs's unhandled-error report.
class TurnSink extends Subscriber<AgentTransition> {
  constructor(
    private readonly onTurn: (t: AgentTransition) => void,
    private readonly onDone: () => void,
  ) {
    super();
  }

  protected override _next(t: AgentTransition): void {
    this.onTurn(t);
  }

  protected override _complete(): void {
    try {
      this.onDone();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * `first$`'s values, then, once it completes, `rest$`'s: concat of two, with
 * `rest$` subscribed by the downstream subscriber itself, so its values (all
 * of the agent's life after boot) take no extra call each.
 */
function afterFirst<T>(first$: Observable<T>, rest$: Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const first = first$.subscribe({
      next: (v) => subscriber.next(v),
      error: (e: unknown) => subscriber.error(e),
      complete: () => {
        if (!subscriber.closed) rest$.subscribe(subscriber);
      },
    });
    subscriber.add(first);
  });
}

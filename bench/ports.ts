// Lean in-memory ports for the graph benches. They behave like the spec fakes
// (spec/fakes) but record nothing, so a long run or 1,000 graphs measure the
// graph and not the fakes' call logs. Every call is a cold Observable; timing
// comes from timers on the bench's virtual clock.
import * as E from 'fp-ts/Either';
import { defer, filter, map, of, race, Subject, take, timer, type Observable, type SchedulerLike } from 'rxjs';
import { decodeJson } from '../src/codecs/decode';
import { AgentEventEnvelope } from '../src/codecs/events';
import type { RolloutPolicy } from '../src/codecs/policy';
import { fromEpochMillis } from '../src/codecs/timestamp';
import { ingestEvent, openRollout, pendingDispatches, type EventLogEntry, type MirrorState, type RolloutHost } from '../src/devcp/mirror';
import type { ActivationOutcome, ActivationPort, RollbackOutcome } from '../src/ports/activation';
import type { ControlPlanePort, DeliveryOutcome, Dispatch, DispatchAnswer, HeartbeatAnswer } from '../src/ports/control-plane';
import type { CertPort, CertValidity, HostPort } from '../src/ports/host';
import type { ManifestPort, ManifestSet, VerifiedDispatch } from '../src/ports/manifests';
import type { ProbeDeclaration, ProbePort, ProbeRunResult } from '../src/ports/probes';
import type { DeadLetter, Enqueued, EnqueueRequest, OutboundQueuePort, QueuedEvent, QueueStats } from '../src/ports/store';
import type { AgentPorts } from '../src/streams';

export const policy = (onHealthFailure: RolloutPolicy['onHealthFailure'] = 'halt'): RolloutPolicy => ({
  strategy: 'all-at-once',
  waves: [],
  healthGate: {},
  onHealthFailure,
});

export const manifestSet = (p: RolloutPolicy = policy(), channel = 'stable'): ManifestSet => ({
  fleet: { channels: { [channel]: { rolloutPolicy: 'p' } }, rolloutPolicies: { p } },
  rollouts: { [channel]: `${channel}@r1` },
});

export const probe = (name: string, intervalSeconds = 5): ProbeDeclaration => ({ name, kind: 'exec', mode: 'enforce', intervalSeconds, runOnce: false, spec: {} });

/** What `/run/current-system` points at; the activation fake moves it. */
export class MutableHost implements HostPort {
  constructor(public closure: string | undefined = 'prior-closure') {}
  currentClosure(): Observable<string | undefined> {
    return defer(() => of(this.closure));
  }
}

export class StaticManifests implements ManifestPort {
  constructor(private readonly set: ManifestSet) {}
  refresh(): Observable<ManifestSet> {
    return defer(() => of(this.set));
  }
  ensureForDispatch(rolloutId: string, _hostname: string, targetClosure: string): Observable<VerifiedDispatch> {
    return defer(() => of({ rolloutId, targetClosure, signedAt: fromEpochMillis(0) }));
  }
}

/** A switch that takes `durationMs` of virtual time and always lands. */
export class TimedActivation implements ActivationPort {
  constructor(
    private readonly clock: SchedulerLike,
    private readonly host: MutableHost,
    private readonly durationMs = 10_000,
  ) {}
  activate(closure: string): Observable<ActivationOutcome> {
    return timer(this.durationMs, this.clock).pipe(
      map((): ActivationOutcome => {
        this.host.closure = closure;
        return { kind: 'FiredAndPolled', observedClosure: closure };
      }),
    );
  }
  rollback(closure: string): Observable<RollbackOutcome> {
    return timer(this.durationMs, this.clock).pipe(
      map((): RollbackOutcome => {
        this.host.closure = closure;
        return { kind: 'FiredAndPolled', revertedTo: closure };
      }),
    );
  }
}

export class StaticProbes implements ProbePort {
  constructor(
    private readonly declared: readonly ProbeDeclaration[],
    private readonly result: ProbeRunResult = { status: 'pass' },
  ) {}
  declarations(): Observable<readonly ProbeDeclaration[]> {
    return defer(() => of(this.declared));
  }
  run(): Observable<ProbeRunResult> {
    return defer(() => of(this.result));
  }
}

export class FixedCert implements CertPort {
  private readonly current: CertValidity = { notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(365 * 86_400_000) };
  validity(): Observable<CertValidity> {
    return defer(() => of(this.current));
  }
  renew(): Observable<CertValidity> {
    return defer(() => of(this.current));
  }
}

/** Per-rollout seq counters (never reused, a floor only raises them) and row ids: what both bench queues share. */
abstract class SeqCounters {
  private readonly counters = new Map<string, number>();
  private nextId = 1;

  protected assign(req: EnqueueRequest): { id: number; seq: number } {
    const seq = Math.max((this.counters.get(req.rolloutId) ?? 0) + 1, req.seqAtLeast ?? 0);
    this.counters.set(req.rolloutId, seq);
    return { id: this.nextId++, seq };
  }
  raiseSeqFloor(rolloutId: string, lastSeq: number): Observable<number> {
    return defer(() => {
      const v = Math.max(this.counters.get(rolloutId) ?? 0, lastSeq);
      this.counters.set(rolloutId, v);
      return of(v);
    });
  }
  lastSeq(rolloutId: string): Observable<number> {
    return defer(() => of(this.counters.get(rolloutId) ?? 0));
  }
}

/** The outbound queue's contract (per-rollout seq, never reused; FIFO), without a history. */
export class LeanQueue extends SeqCounters implements OutboundQueuePort {
  private readonly rows = new Map<number, QueuedEvent>();

  enqueue(req: EnqueueRequest): Observable<Enqueued> {
    return defer(() => {
      const { id, seq } = this.assign(req);
      this.rows.set(id, { id, rolloutId: req.rolloutId, seq, kind: req.kind, durable: req.durable, body: JSON.stringify(req.build(seq)), enqueuedAt: '' });
      return of({ id, seq, evicted: 0 });
    });
  }
  pending(limit: number): Observable<readonly QueuedEvent[]> {
    return defer(() => {
      const out: QueuedEvent[] = [];
      for (const row of this.rows.values()) {
        if (out.length >= limit) break;
        out.push(row);
      }
      return of(out);
    });
  }
  ack(id: number): Observable<boolean> {
    return defer(() => of(this.rows.delete(id)));
  }
  deadLetter(id: number): Observable<boolean> {
    return defer(() => of(this.rows.delete(id)));
  }
  stats(): Observable<QueueStats> {
    return defer(() => of({ queued: this.rows.size, queuedBytes: 0, deadLettered: 0 }));
  }
  deadLetters(): Observable<readonly DeadLetter[]> {
    return defer(() => of([]));
  }
}

/**
 * A queue that keeps nothing: seqs are assigned, but no envelope is built and
 * the drain always finds it empty. For the graph bench's diagnostic line only
 * (the graph with its outbound path stubbed out).
 */
export class NullQueue extends SeqCounters implements OutboundQueuePort {
  enqueue(req: EnqueueRequest): Observable<Enqueued> {
    return defer(() => of({ ...this.assign(req), evicted: 0 }));
  }
  pending(): Observable<readonly QueuedEvent[]> {
    return of([]);
  }
  ack(): Observable<boolean> {
    return of(false);
  }
  deadLetter(): Observable<boolean> {
    return of(false);
  }
  stats(): Observable<QueueStats> {
    return of({ queued: 0, queuedBytes: 0, deadLettered: 0 });
  }
  deadLetters(): Observable<readonly DeadLetter[]> {
    return of([]);
  }
}

/** A CP that answers one dispatch after `afterMs`, then holds every long-poll empty; acks every event. */
export class OneDispatchCp implements ControlPlanePort {
  private sent = false;
  constructor(
    private readonly clock: SchedulerLike,
    private readonly dispatchOf: () => Dispatch,
    private readonly afterMs = 1_000,
  ) {}
  dispatch(waitSecs: number): Observable<DispatchAnswer> {
    return defer(() => {
      if (this.sent) return timer(waitSecs * 1000, this.clock).pipe(map((): DispatchAnswer => ({ kind: 'none' })));
      this.sent = true;
      return timer(this.afterMs, this.clock).pipe(map((): DispatchAnswer => ({ kind: 'dispatch', dispatch: this.dispatchOf() })));
    });
  }
  heartbeat(): Observable<HeartbeatAnswer> {
    return defer(() => of({ bootstrapRollouts: [] }));
  }
  postEvent(): Observable<DeliveryOutcome> {
    return defer(() => of<DeliveryOutcome>({ kind: 'acked' }));
  }
}

export type Outcome = EventLogEntry['outcome'];

/**
 * One development-CP mirror (src/devcp/mirror.ts) shared by many agents: each
 * agent's events are decoded and ingested as the CP's event endpoint would,
 * dispatches come from `pendingDispatches`. The mirror's event log is folded
 * into counters after each ingest (a CP keeps it on disk, not in memory).
 */
export class SharedMirror {
  state: MirrorState;
  readonly outcomes: Record<Outcome, number> = { applied: 0, duplicate: 0, rejected: 0, 'unknown-record': 0, synthesized: 0 };
  /** Wall-clock ms spent inside the mirror's functions (decode, ingest, dispatch lookup). */
  busyMs = 0;
  readonly changed = new Subject<void>();

  constructor(
    private readonly clock: SchedulerLike,
    initial: MirrorState,
  ) {
    this.state = initial;
  }

  private now() {
    return fromEpochMillis(this.clock.now());
  }

  open(rolloutId: string, channel: string, p: RolloutPolicy, hosts: readonly RolloutHost[]): void {
    const t0 = performance.now();
    this.state = openRollout(this.state, rolloutId, channel, p, hosts, this.now());
    this.busyMs += performance.now() - t0;
    this.changed.next();
  }

  dispatchFor(host: string): Dispatch | undefined {
    const t0 = performance.now();
    const d = pendingDispatches(this.state, host, this.now())[0];
    this.busyMs += performance.now() - t0;
    return d;
  }

  ingest(body: string): void {
    const t0 = performance.now();
    const env = decodeJson(AgentEventEnvelope, body);
    if (E.isLeft(env)) throw new Error(`mirror: undecodable event: ${env.left.message}`);
    const next = ingestEvent(this.state, env.right, this.now());
    for (const entry of next.log) this.outcomes[entry.outcome] += 1;
    this.state = next.log.length === 0 ? next : { ...next, log: [] };
    this.busyMs += performance.now() - t0;
  }

  count(state: string): number {
    let n = 0;
    for (const r of Object.values(this.state.records)) if (r.state === state) n += 1;
    return n;
  }
}

/**
 * One agent's ControlPlanePort backed by the shared mirror: a long-poll is
 * answered at once when a dispatch is owed, else held until the mirror opens
 * a rollout for this host or `wait` runs out; every event is ingested and acked.
 */
export class MirrorCp implements ControlPlanePort {
  constructor(
    private readonly clock: SchedulerLike,
    private readonly mirror: SharedMirror,
    private readonly host: string,
  ) {}
  dispatch(waitSecs: number): Observable<DispatchAnswer> {
    return defer(() => {
      const now = this.mirror.dispatchFor(this.host);
      if (now !== undefined) return of<DispatchAnswer>({ kind: 'dispatch', dispatch: now });
      return race(
        timer(waitSecs * 1000, this.clock).pipe(map((): DispatchAnswer => ({ kind: 'none' }))),
        this.mirror.changed.pipe(
          map(() => this.mirror.dispatchFor(this.host)),
          filter((d): d is Dispatch => d !== undefined),
          take(1),
          map((dispatch): DispatchAnswer => ({ kind: 'dispatch', dispatch })),
        ),
      );
    });
  }
  heartbeat(): Observable<HeartbeatAnswer> {
    return defer(() => of({ receivedAt: fromEpochMillis(this.clock.now()), bootstrapRollouts: [] }));
  }
  postEvent(body: string): Observable<DeliveryOutcome> {
    return defer(() => {
      this.mirror.ingest(body);
      return of<DeliveryOutcome>({ kind: 'acked' });
    });
  }
}

/** Ports for one agent on the virtual clock. */
export function agentPorts(
  clock: SchedulerLike,
  cp: ControlPlanePort,
  set: ManifestSet,
  probes: readonly ProbeDeclaration[],
  queue: OutboundQueuePort = new LeanQueue(),
  activationMs = 10_000,
): AgentPorts {
  const host = new MutableHost();
  return {
    cp,
    manifests: new StaticManifests(set),
    activation: new TimedActivation(clock, host, activationMs),
    probes: new StaticProbes(probes),
    host,
    cert: new FixedCert(),
    queue,
  };
}

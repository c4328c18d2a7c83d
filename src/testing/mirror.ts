// The development CP's mirror (src/devcp/mirror.ts, the same step() the
// agent runs) shared by many in-memory agents, and each agent's
// ControlPlanePort onto it: no sockets, TLS or HTTP, the wire codec only
// where the CP would decode an event.
import * as E from 'fp-ts/Either';
import { defer, filter, map, of, race, Subject, take, timer, type Observable, type SchedulerLike } from 'rxjs';
import { decodeJson } from '../codecs/decode';
import { AgentEventEnvelope } from '../codecs/events';
import type { HostState } from '../codecs/scalars';
import type { RolloutPolicy } from '../codecs/policy';
import { fromEpochMillis } from '../codecs/timestamp';
import { emptyMirror, ingestEvent, openRollout, pendingDispatches, type EventLogEntry, type MirrorState, type RolloutHost } from '../devcp/mirror';
import type { ControlPlanePort, DeliveryOutcome, Dispatch, DispatchAnswer, HeartbeatAnswer } from '../ports/control-plane';

export type Outcome = EventLogEntry['outcome'];

/**
 * One mirror for a whole fleet: dispatches come from `pendingDispatches`,
 * each agent's events are decoded and ingested as the CP's event endpoint
 * would. Its event log is folded into counters after each ingest (a CP
 * keeps it on disk, not in memory).
 */
export class SharedMirror {
  state: MirrorState;
  readonly outcomes: Record<Outcome, number> = { applied: 0, duplicate: 0, rejected: 0, 'unknown-record': 0, synthesized: 0 };
  /** Emits after every `open` (parked long-polls look again). */
  readonly changed = new Subject<void>();

  constructor(
    private readonly clock: SchedulerLike,
    initial: MirrorState = emptyMirror(),
  ) {
    this.state = initial;
  }

  private now() {
    return fromEpochMillis(this.clock.now());
  }

  open(rolloutId: string, channel: string, p: RolloutPolicy, hosts: readonly RolloutHost[]): void {
    this.state = openRollout(this.state, rolloutId, channel, p, hosts, this.now());
    this.changed.next();
  }

  dispatchFor(host: string): Dispatch | undefined {
    return pendingDispatches(this.state, host, this.now())[0];
  }

  ingest(body: string): void {
    const env = decodeJson(AgentEventEnvelope, body);
    if (E.isLeft(env)) throw new Error(`mirror: undecodable event: ${env.left.message}`);
    const next = ingestEvent(this.state, env.right, this.now());
    for (const entry of next.log) this.outcomes[entry.outcome] += 1;
    this.state = next.log.length === 0 ? next : { ...next, log: [] };
  }

  /** Records in `state` (of every rollout). */
  count(state: HostState): number {
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

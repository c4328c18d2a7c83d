// The development CP's mirror (src/devcp/mirror.ts, the same step() the
// agent runs) shared by many in-memory agents, and each agent's
// ControlPlanePort onto it: no sockets, TLS or HTTP, the wire codec only
// where the CP would decode an event.
import * as E from 'fp-ts/Either';
import { defer, Observable, of, type SchedulerAction, type SchedulerLike, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { decodeJson } from '../codecs/decode';
import { AgentEventEnvelope } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import type { HostState } from '../codecs/scalars';
import type { RolloutPolicy } from '../codecs/policy';
import { fromEpochMillis } from '../codecs/timestamp';
import { emptyMirror, ingestEvent, openRollout, pendingDispatches, type EventLogEntry, type MirrorState, type RolloutHost } from '../devcp/mirror';
import type { ControlPlanePort, DeliveryOutcome, Dispatch, DispatchAnswer, HeartbeatAnswer } from '../ports/control-plane';

export type Outcome = EventLogEntry['outcome'];

type Records = MirrorState['records'];

/**
 * One mirror for a whole fleet: dispatches come from `pendingDispatches`,
 * each agent's events are decoded and ingested as the CP's event endpoint
 * would. Its event log is folded into counters after each ingest (a CP
 * keeps it on disk, not in memory).
 *
 * The record map is kept split by host, and the mirror's functions see one
 * host's records (with the shared policies and quarantine) at a time: the dev
 * CP's own state copies the whole record map per event and scans it per
 * dispatch lookup, which would make a fleet's rollout cost grow with the
 * square of its hosts. A host's records are the only ones an event or a
 * dispatch of that host reads or writes, so every outcome is the same.
 */
export class SharedMirror {
  readonly outcomes: Record<Outcome, number> = { applied: 0, duplicate: 0, rejected: 0, 'unknown-record': 0, synthesized: 0 };
  private policies: MirrorState['policies'];
  private quarantine: MirrorState['quarantine'];
  private readonly records = new Map<string, Records>();
  /** Held long-polls by host, woken when a rollout opens for it. */
  private readonly parked = new Map<string, readonly Parked[]>();

  constructor(
    private readonly clock: SchedulerLike,
    initial: MirrorState = emptyMirror(),
  ) {
    this.policies = initial.policies;
    this.quarantine = initial.quarantine;
    for (const [k, r] of Object.entries(initial.records)) this.records.set(r.hostname, { ...this.records.get(r.hostname), [k]: r });
  }

  /** The whole mirror state, assembled on each read (every record): for inspection, not per event. */
  get state(): MirrorState {
    const records: Record<string, Records[string]> = {};
    for (const rs of this.records.values()) Object.assign(records, rs);
    return { records, policies: this.policies, quarantine: this.quarantine, log: [] };
  }

  private now() {
    return fromEpochMillis(this.clock.now());
  }

  private of(host: string): MirrorState {
    return { records: this.records.get(host) ?? {}, policies: this.policies, quarantine: this.quarantine, log: [] };
  }

  private keep(host: string, before: MirrorState, s: MirrorState): void {
    if (s.records !== before.records) this.records.set(host, s.records);
    this.policies = s.policies;
    this.quarantine = s.quarantine;
  }

  open(rolloutId: string, channel: string, p: RolloutPolicy, hosts: readonly RolloutHost[]): void {
    const now = this.now();
    for (const h of hosts) {
      const before = this.of(h.hostname);
      this.keep(h.hostname, before, openRollout(before, rolloutId, channel, p, [h], now));
    }
    // Held long-polls are answered in a task of their own, as a CP answers
    // them after the request that opened the rollout has returned.
    this.clock.schedule(() => {
      for (const h of hosts) this.parked.get(h.hostname)?.forEach((poll) => poll.wake());
    });
  }

  /** Parks a held long-poll of `host`: it is woken whenever a rollout opens for it, until unparked. */
  park(host: string, poll: Parked): void {
    this.parked.set(host, [...(this.parked.get(host) ?? []), poll]);
  }

  unpark(host: string, poll: Parked): void {
    const left = (this.parked.get(host) ?? []).filter((p) => p !== poll);
    if (left.length > 0) this.parked.set(host, left);
    else this.parked.delete(host);
  }

  dispatchFor(host: string): Dispatch | undefined {
    return pendingDispatches(this.of(host), host, this.now())[0];
  }

  ingest(body: string): void {
    const env = decodeJson(AgentEventEnvelope, body);
    if (E.isLeft(env)) throw new Error(`mirror: undecodable event: ${env.left.message}`);
    const host = env.right.hostname;
    const before = this.of(host);
    const next = ingestEvent(before, env.right, this.now());
    for (const entry of next.log) this.outcomes[entry.outcome] += 1;
    this.keep(host, before, next);
  }

  /** Every record, host by host, without assembling the whole state. */
  *all(): IterableIterator<HostRolloutState> {
    for (const rs of this.records.values()) yield* Object.values(rs);
  }

  /** Records in `state` (of every rollout). */
  count(state: HostState): number {
    let n = 0;
    for (const r of this.all()) if (r.state === state) n += 1;
    return n;
  }
}

/** A long-poll the mirror holds; woken when a rollout opens for its host. */
export interface Parked {
  wake(): void;
}

const NONE: DispatchAnswer = { kind: 'none' };

function expire(this: SchedulerAction<HeldPoll>, poll?: HeldPoll): void {
  poll?.answer(NONE);
}

// A held long-poll: answered by a dispatch once a rollout opens for its host,
// or empty when its wait runs out. An object with methods and a shared timer
// function rather than closures or an operator chain: every agent of a fleet
// holds one all the time.
class HeldPoll implements Parked, Unsubscribable {
  private readonly timer: Subscription;

  constructor(
    clock: SchedulerLike,
    private readonly mirror: SharedMirror,
    private readonly host: string,
    private readonly sub: Subscriber<DispatchAnswer>,
    waitMs: number,
  ) {
    mirror.park(host, this);
    this.timer = clock.schedule(expire, waitMs, this);
  }

  wake(): void {
    const dispatch = this.mirror.dispatchFor(this.host);
    if (dispatch !== undefined) this.answer({ kind: 'dispatch', dispatch });
  }

  answer(a: DispatchAnswer): void {
    this.sub.next(a);
    this.sub.complete();
  }

  unsubscribe(): void {
    this.mirror.unpark(this.host, this);
    this.timer.unsubscribe();
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
    return new Observable<DispatchAnswer>((sub) => {
      const owed = this.mirror.dispatchFor(this.host);
      if (owed === undefined) return new HeldPoll(this.clock, this.mirror, this.host, sub, waitSecs * 1000);
      sub.next({ kind: 'dispatch', dispatch: owed });
      sub.complete();
      return undefined;
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

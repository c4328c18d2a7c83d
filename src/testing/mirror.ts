// The development CP's mirror (src/devcp/mirror.ts, the same step() the
// agent runs) shared by many in-memory agents, and each agent's
// ControlPlanePort onto it: no sockets, TLS or HTTP, the wire codec only
// where the CP would decode an event.
import * as E from 'fp-ts/Either';
import { defer, Observable, of, type SchedulerLike } from 'rxjs';
import { decodeJson } from '../codecs/decode';
import { AgentEventEnvelope } from '../codecs/events';
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
  private readonly parked = new Map<string, readonly (() => void)[]>();

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
    for (const h of hosts) this.parked.get(h.hostname)?.forEach((wake) => wake());
  }

  /**
   * Parks a held long-poll of `host`: `wake` runs whenever a rollout opens for
   * it, until the returned function unparks it.
   */
  park(host: string, wake: () => void): () => void {
    this.parked.set(host, [...(this.parked.get(host) ?? []), wake]);
    return () => {
      const left = (this.parked.get(host) ?? []).filter((w) => w !== wake);
      if (left.length > 0) this.parked.set(host, left);
      else this.parked.delete(host);
    };
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

  /** Records in `state` (of every rollout). */
  count(state: HostState): number {
    let n = 0;
    for (const rs of this.records.values()) for (const r of Object.values(rs)) if (r.state === state) n += 1;
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
  // One subscriber, one timer and one parked callback per held poll, not an
  // operator chain: every agent of a fleet holds one all the time.
  dispatch(waitSecs: number): Observable<DispatchAnswer> {
    return new Observable<DispatchAnswer>((sub) => {
      const answer = (a: DispatchAnswer) => {
        sub.next(a);
        sub.complete();
      };
      const owed = this.mirror.dispatchFor(this.host);
      if (owed !== undefined) {
        answer({ kind: 'dispatch', dispatch: owed });
        return undefined;
      }
      const unpark = this.mirror.park(this.host, () => {
        const dispatch = this.mirror.dispatchFor(this.host);
        if (dispatch !== undefined) answer({ kind: 'dispatch', dispatch });
      });
      const timeout = this.clock.schedule(() => answer({ kind: 'none' }), waitSecs * 1000);
      return () => {
        unpark();
        timeout.unsubscribe();
      };
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

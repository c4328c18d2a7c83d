// Read views of the dev CP's state for `/v1/hosts`, `/v1/rollouts`, the
// events routes and the in-process API. Pure.
import type { HostRolloutState } from '../codecs/host-state';
import { compareTimestamps, type Timestamp } from '../codecs/timestamp';
import { recordOf } from './database';
import type { FleetHost } from './fleet';
import type { CiState, DbState, EventRow } from './persist';

/** `/v1/hosts` entry: upstream's HostStatusEntry fields we can fill, plus every record of the host. */
export interface HostView {
  readonly hostname: string;
  readonly channel: string;
  readonly declaredClosureHash: string | null;
  readonly currentClosureHash: string | null;
  readonly lastCheckinAt: Timestamp | null;
  readonly lastRolloutId: string | null;
  readonly rolloutState: HostRolloutState['state'] | null;
  readonly converged: boolean;
  readonly quarantinedClosure: string | null;
  readonly verifiedEventCount: number;
  /** Every mirror record of the host (state, lastEventSeq, probes, timestamps), oldest dispatch first. */
  readonly records: readonly HostRolloutState[];
}

export interface RolloutView {
  readonly rolloutId: string;
  readonly channel: string;
  readonly currentWave: number;
  readonly createdAt: Timestamp;
  readonly supersededAt: Timestamp | null;
  readonly hostStates: Readonly<Record<string, HostRolloutState['state']>>;
}

const recordsOf = (db: DbState, hostname: string): HostRolloutState[] =>
  Object.values(db.records)
    .filter((r) => r.hostname === hostname)
    .sort((a, b) => compareTimestamps(a.dispatchedAt, b.dispatchedAt) || (a.rolloutId < b.rolloutId ? -1 : 1));

export function hostViews(ci: CiState, db: DbState): HostView[] {
  return Object.keys(ci.fleet.hosts)
    .sort()
    .map((hostname): HostView => {
      const decl = ci.fleet.hosts[hostname] as FleetHost;
      const current = ci.current[decl.channel];
      const r = current === undefined ? undefined : recordOf(db, current.rolloutId, hostname);
      const seen = db.hosts[hostname];
      const q = db.quarantine.filter((x) => x.channel === decl.channel).at(-1);
      return {
        hostname,
        channel: decl.channel,
        declaredClosureHash: decl.closureHash,
        currentClosureHash: seen?.currentClosure ?? null,
        lastCheckinAt: seen?.lastHeartbeatAt ?? null,
        lastRolloutId: current?.rolloutId ?? null,
        rolloutState: r?.state ?? null,
        converged: r?.state === 'Converged',
        quarantinedClosure: q?.closure ?? null,
        verifiedEventCount: db.eventLog.filter((e) => e.host === hostname && (e.outcome === 'applied' || e.outcome === 'synthesized')).length,
        records: recordsOf(db, hostname),
      };
    });
}

export function rolloutViews(db: DbState): RolloutView[] {
  return db.rollouts.map((r) => ({
    rolloutId: r.rolloutId,
    channel: r.channel,
    currentWave: 0,
    createdAt: r.openedAt,
    supersededAt: r.supersededAt ?? null,
    hostStates: Object.fromEntries(
      Object.values(db.records)
        .filter((x) => x.rolloutId === r.rolloutId)
        .map((x) => [x.hostname, x.state]),
    ),
  }));
}

/** The event log (oldest first), optionally for one rollout, at most `limit` entries (the first ones, as upstream's query). */
export function eventRows(db: DbState, rolloutId?: string, limit = Number.MAX_SAFE_INTEGER): EventRow[] {
  const rows = rolloutId === undefined ? db.eventLog : db.eventLog.filter((e) => e.rolloutId === rolloutId);
  return rows.slice(0, Math.max(1, limit));
}

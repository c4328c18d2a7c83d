// Capacities of the durable store (design §2 rule 4). Each is a default the
// daemon may override (tests shrink them); the policy on overflow is in
// docs/store.md and next to each constant.

// A wire event is ~200–600 bytes; a ProbeResult with compliance sub-results
// (one per control, ~150 bytes each) stays well under 16 KiB. 64 KiB leaves 4x
// headroom over the largest we can imagine and refuses runaway payloads
// (typed `too-large`) instead of letting one event eat the queue.
export const MAX_ENVELOPE_BYTES = 64 * 1024;

// Overflow only happens during a long CP outage. The volume then is probe
// chatter: 10 probes at the 5 s floor = 2 events/s, so 10,000 rows hold ~80
// minutes of it; durable transitions are ~8 per rollout, so they alone fill
// it only after ~1,000 undelivered rollouts. Policy when full: evict the
// oldest non-durable events (ProbeObservedFirst/ProbeResult/ProbeFailureFirst:
// the CP needs the latest, not every one, and its seq check accepts gaps);
// if only durable events remain, refuse the enqueue with `queue-full`, so
// the state transitions already queued, which are the CP's only evidence, are
// never dropped behind the caller's back.
export const MAX_QUEUED_EVENTS = 10_000;

// Byte bound on the queue: 10,000 typical events are ~5 MiB; 16 MiB keeps a
// handful of large ones from growing the file past what a state partition
// expects. Same overflow policy as the row bound.
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

// Evict in batches so that a days-long outage logs one warning per 500
// evictions, not one per new probe result (~2/s).
export const EVICTION_BATCH = 500;

// Dead letters are for humans (logs and `status`); they are never sent again.
// 1,000 is far more than anyone reads, and drops the oldest beyond it.
export const MAX_DEAD_LETTERS = 1_000;

// One verified manifest per rollout; a host sees a few rollouts a day and
// only the current ones matter. 32 keeps a month of them; least recently
// stored is dropped beyond it. 8 MiB per manifest covers fleets of
// thousands of hosts (~1 KiB per host entry).
export const MAX_CACHED_MANIFESTS = 32;
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

// One counter row per rollout ever seen (a few a day): 4,096 is years of
// rollouts. Beyond it the oldest counter with no queued event is dropped; a
// rollout that old would only come back through a CP snapshot, which raises
// the floor again.
export const MAX_SEQ_COUNTERS = 4_096;

// The agent reducer keeps at most 64 terminal records plus the live ones
// (src/reducer/agent.ts); 256 leaves room for a fleet with many channels.
// Beyond it the save is refused (`too-large`): a reducer bug, not a policy.
export const MAX_ROLLOUT_RECORDS = 256;

// CP error bodies can be large; the reason is for people, 4 KiB is plenty.
export const MAX_REASON_CHARS = 4 * 1024;

// Hard ceiling on the database file (SQLite's max_page_count): a backstop
// behind the bounds above (queue 16 MiB + dead letters + 32 manifests) so a
// bug can never fill the host's disk. Hitting it is `disk-full` to the caller.
export const MAX_DATABASE_BYTES = 512 * 1024 * 1024;

// After a checkpoint the WAL is truncated to at most this size (it is reused
// rather than shrunk to zero, which saves a file-size change per cycle).
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

// Only short-lived readers (a `status` command) ever contend; waiting longer
// than this would stall the event loop, as better-sqlite3 blocks.
export const BUSY_TIMEOUT_MS = 200;

// Corrupt files moved aside are kept for forensics; a disk that keeps
// corrupting them must not fill up with copies, so only the newest 3 stay.
export const MAX_MOVED_ASIDE = 3;

export interface StoreLimits {
  readonly maxEnvelopeBytes: number;
  readonly maxQueuedEvents: number;
  readonly maxQueuedBytes: number;
  readonly evictionBatch: number;
  readonly maxDeadLetters: number;
  readonly maxCachedManifests: number;
  readonly maxManifestBytes: number;
  readonly maxSeqCounters: number;
  readonly maxDatabaseBytes: number;
  readonly maxRolloutRecords: number;
}

export const DEFAULT_LIMITS: StoreLimits = {
  maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
  maxQueuedEvents: MAX_QUEUED_EVENTS,
  maxQueuedBytes: MAX_QUEUED_BYTES,
  evictionBatch: EVICTION_BATCH,
  maxDeadLetters: MAX_DEAD_LETTERS,
  maxCachedManifests: MAX_CACHED_MANIFESTS,
  maxManifestBytes: MAX_MANIFEST_BYTES,
  maxSeqCounters: MAX_SEQ_COUNTERS,
  maxDatabaseBytes: MAX_DATABASE_BYTES,
  maxRolloutRecords: MAX_ROLLOUT_RECORDS,
};

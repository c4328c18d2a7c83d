// Schema of the state database, versioned through PRAGMA user_version. Each
// migration runs in its own transaction together with the version bump, so
// a crash mid-migration leaves the previous version intact. Append only:
// never edit a released migration.
import type Database from 'better-sqlite3';
import { StoreError } from '../../ports/store';

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

const V1 = `
-- AUTOINCREMENT: an id is never reused, even after the newest row is acked,
-- so a drainer holding a stale id can never ack someone else's event.
CREATE TABLE outbound (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout_id  TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  durable     INTEGER NOT NULL,
  body        TEXT    NOT NULL,
  bytes       INTEGER NOT NULL,
  enqueued_at TEXT    NOT NULL,
  UNIQUE (rollout_id, seq)
) STRICT;
-- the overflow policy evicts the oldest non-durable rows first
CREATE INDEX outbound_evictable ON outbound (id) WHERE durable = 0;

-- last seq handed out per rollout; rowid order = creation order (pruning)
CREATE TABLE seq_counter (
  rollout_id TEXT    PRIMARY KEY,
  last_seq   INTEGER NOT NULL
) STRICT;

CREATE TABLE dead_letter (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  outbound_id INTEGER NOT NULL,
  rollout_id  TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  enqueued_at TEXT    NOT NULL,
  dead_at     TEXT    NOT NULL,
  reason      TEXT    NOT NULL
) STRICT;

CREATE TABLE confirmed_closure (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  closure      TEXT    NOT NULL,
  confirmed_at TEXT    NOT NULL
) STRICT;

-- rowid order = least recently stored first (INSERT OR REPLACE renews it)
CREATE TABLE manifest (
  rollout_id  TEXT PRIMARY KEY,
  raw         BLOB NOT NULL,
  signature   BLOB NOT NULL,
  verified_at TEXT NOT NULL
) STRICT;

CREATE TABLE certificate (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  serial      TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL,
  not_before  TEXT    NOT NULL,
  not_after   TEXT    NOT NULL
) STRICT;
`;

// The agent's rollout records (its reducer state), so that `status` can show
// them without a network and a restart can start warm. The JSON is the
// HostRolloutState codec's output; the store treats it as opaque text.
const V2 = `
CREATE TABLE rollout_record (
  rollout_id TEXT PRIMARY KEY,
  record     TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
`;

// The signed intent a record is bound to (src/codecs/intent.ts), as JSON;
// NULL for a record only the CP described. Only bound records are resumed.
const V3 = `
ALTER TABLE rollout_record ADD COLUMN signed_intent TEXT;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1 },
  { version: 2, sql: V2 },
  { version: 3, sql: V3 },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Thrown for a file written by a newer agent; the opener moves it aside. */
export class SchemaTooNew extends StoreError {
  constructor(readonly found: number, readonly supported: number) {
    super('corrupt', `schema version ${found} is newer than this agent supports (${supported})`);
  }
}

export const schemaVersion = (db: Database.Database): number => {
  const v: unknown = db.pragma('user_version', { simple: true });
  return typeof v === 'number' ? v : 0;
};

/** Brings `db` to the newest version; returns the versions applied. */
export const migrate = (db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] => {
  const supported = migrations.length;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError('invalid-argument', `migration ${i} has version ${m.version}`);
  });
  const found = schemaVersion(db);
  if (found > supported) throw new SchemaTooNew(found, supported);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= found) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // PRAGMA takes no bound parameters; the version is our own integer.
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
    })();
    applied.push(m.version);
  }
  return applied;
};

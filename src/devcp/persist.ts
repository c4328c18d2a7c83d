// The dev CP's state as two JSON documents in its state directory, each
// decoded with io-ts on load and written atomically (temp file, fsync,
// rename, directory fsync) on change:
//
// - `ci.json`: what upstream's CP would pull from CI — the fleet
//   declaration, each channel's current rollout, the bootstrap-nonce
//   allowlist, and earlier manifests. Survives `--empty-database`.
// - `db.json`: what upstream keeps in its database — the mirror's records
//   and quarantine, the rollouts table, burnt token nonces, the event log.
//   `--empty-database` (or `wipeDatabase()`) starts it afresh.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { decodeJson } from '../codecs/decode';
import { AgentEvent } from '../codecs/events';
import { HostRolloutState } from '../codecs/host-state';
import { RolloutPolicy } from '../codecs/policy';
import { Text, U64 } from '../codecs/scalars';
import { opt, req, struct, withDefault } from '../codecs/struct';
import { TimestampCodec } from '../codecs/timestamp';
import { writeFileAtomic } from '../io/enroll/atomic-write';
import { FleetDecl, NonNegative } from './fleet';

const Base64 = new t.Type<Uint8Array, string, unknown>(
  'base64 bytes',
  (u): u is Uint8Array => u instanceof Uint8Array,
  (u, c) => (typeof u === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(u) ? t.success(new Uint8Array(Buffer.from(u, 'base64'))) : t.failure(u, c, 'expected base64 text')),
  (a) => Buffer.from(a).toString('base64'),
);

export const RolloutTarget = struct('DevCpRolloutTarget', { hostname: req(Text), targetClosure: req(Text) });
export type RolloutTarget = t.TypeOf<typeof RolloutTarget>;

/** The rollout a channel's hosts were last released to. */
export const CurrentRollout = struct('DevCpCurrentRollout', {
  rolloutId: req(Text),
  soakMinutes: req(NonNegative),
  hosts: req(t.array(RolloutTarget)),
});
export type CurrentRollout = t.TypeOf<typeof CurrentRollout>;

export const AllowedNonce = struct('DevCpAllowedNonce', { hostname: req(Text), expiresAt: req(TimestampCodec) });
export type AllowedNonce = t.TypeOf<typeof AllowedNonce>;

export const ArchivedManifest = struct('DevCpArchivedManifest', { bytes: req(Base64), signature: req(Base64) });
export type ArchivedManifest = t.TypeOf<typeof ArchivedManifest>;

export const CiState = struct('DevCpCiState', {
  version: req(t.literal(1)),
  fleet: req(FleetDecl),
  current: withDefault(t.record(t.string, CurrentRollout), {}),
  allowedNonces: withDefault(t.record(t.string, AllowedNonce), {}),
  archive: withDefault(t.record(t.string, ArchivedManifest), {}),
});
export type CiState = t.TypeOf<typeof CiState>;

export const RolloutRow = struct('DevCpRolloutRow', {
  rolloutId: req(Text),
  channel: req(Text),
  openedAt: req(TimestampCodec),
  supersededAt: opt(TimestampCodec),
});
export type RolloutRow = t.TypeOf<typeof RolloutRow>;

export const OUTCOMES = ['applied', 'duplicate', 'rejected', 'unknown-record', 'synthesized'] as const;
const Outcome = t.keyof({ applied: null, duplicate: null, rejected: null, 'unknown-record': null, synthesized: null });

/** One event the CP received (or synthesized), with what the mirror did with it. */
export const EventRow = struct('DevCpEventRow', {
  /** CP-wide ingestion order, from 1. */
  seq: req(U64),
  /** CP time of ingestion. */
  ts: req(TimestampCodec),
  host: req(Text),
  rolloutId: req(Text),
  event: req(AgentEvent),
  outcome: req(Outcome),
  reason: opt(Text),
});
export type EventRow = t.TypeOf<typeof EventRow>;

export const HostSeen = struct('DevCpHostSeen', { lastHeartbeatAt: opt(TimestampCodec), currentClosure: opt(Text) });
export type HostSeen = t.TypeOf<typeof HostSeen>;

export const UsedNonce = struct('DevCpUsedNonce', { hostname: req(Text), at: req(TimestampCodec) });
export type UsedNonce = t.TypeOf<typeof UsedNonce>;

export const QuarantineRow = struct('DevCpQuarantine', { channel: req(Text), closure: req(Text), reason: opt(Text) });

export const DbState = struct('DevCpDbState', {
  version: req(t.literal(1)),
  records: withDefault(t.record(t.string, HostRolloutState), {}),
  policies: withDefault(t.record(t.string, RolloutPolicy), {}),
  quarantine: withDefault(t.array(QuarantineRow), []),
  rollouts: withDefault(t.array(RolloutRow), []),
  usedNonces: withDefault(t.record(t.string, UsedNonce), {}),
  eventLog: withDefault(t.array(EventRow), []),
  eventSeq: withDefault(U64, 0),
  eventLogDropped: withDefault(U64, 0),
  hosts: withDefault(t.record(t.string, HostSeen), {}),
});
export type DbState = t.TypeOf<typeof DbState>;

export const emptyDb = (): DbState => ({
  version: 1,
  records: {},
  policies: {},
  quarantine: [],
  rollouts: [],
  usedNonces: {},
  eventLog: [],
  eventSeq: 0,
  eventLogDropped: 0,
  hosts: {},
});

export const CI_FILE = 'ci.json';
export const DB_FILE = 'db.json';

// A state file is a few MB at most (10 000 logged events); a larger one is not ours.
const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** The decoded file, undefined when it does not exist; throws a readable error when it is unusable. */
export async function readState<A>(codec: t.Type<A, unknown, unknown>, file: string): Promise<A | undefined> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_STATE_BYTES) throw new Error(`${file}: ${st.size} bytes is larger than a dev CP state file`);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
  const r = decodeJson(codec, text);
  if (E.isLeft(r)) throw new Error(`${file}: ${r.left.message}`);
  return r.right;
}

export const writeState = <A, O>(codec: t.Type<A, O, unknown>, dir: string, name: string, value: A): Promise<void> =>
  writeFileAtomic(path.join(dir, name), JSON.stringify(codec.encode(value)), 0o600);

// Agent ↔ control-plane request and response bodies (reference
// wire-protocol.md §4, agent-runtime.md §14). Casing is per endpoint, as
// upstream: heartbeat and dispatch are snake_case, enroll/renew camelCase,
// snapshots inside a snake_case heartbeat stay camelCase. Absent optionals are
// omitted on output; null reads as absent; unknown keys are ignored.
// What the CP sends the agent (dispatch, heartbeat snapshots) has its rollout
// ids and closure names checked here, at the edge (wire-ids.ts).
import * as t from 'io-ts';
import { HostRolloutSnapshot } from './host-state';
import { RolloutId, Text, U32 } from './scalars';
import { opt, req, struct } from './struct';
import { TimestampCodec } from './timestamp';
import { WireClosure, WireRolloutId } from './wire-ids';

/** `POST /v1/agent/heartbeat` body; key order is upstream's struct order. */
export const HeartbeatRequestWire = struct('HeartbeatRequest', {
  hostname: req(Text),
  rollout_id: opt(RolloutId),
  current_closure: opt(Text),
  at: req(TimestampCodec),
});
export type HeartbeatRequestWire = t.TypeOf<typeof HeartbeatRequestWire>;

/**
 * A bootstrap snapshot as the CP sends it: HostRolloutSnapshot's fields and
 * order, with the rollout id and every closure validated (the reducer's
 * codec stays plain text for upstream's trace vectors).
 */
export const HostRolloutSnapshotWire = struct('HostRolloutSnapshot', {
  ...HostRolloutSnapshot.fields,
  rolloutId: req(WireRolloutId),
  targetClosure: req(WireClosure),
  currentClosureAtDispatch: opt(WireClosure),
  currentClosure: opt(WireClosure),
});

/**
 * `POST /v1/agent/heartbeat` 200 body. `bootstrap_rollouts` is omitted by the
 * CP when empty (and absent in some CP revisions): absent means none.
 */
export const HeartbeatResponseWire = struct('HeartbeatResponse', {
  received_at: opt(TimestampCodec),
  bootstrap_rollouts: opt(t.array(HostRolloutSnapshotWire)),
});
export type HeartbeatResponseWire = t.TypeOf<typeof HeartbeatResponseWire>;

/** `GET /v1/agent/dispatch` 200 body; every field required. */
export const DispatchWire = struct('DispatchResponse', {
  hostname: req(Text),
  rollout_id: req(WireRolloutId),
  target_closure: req(WireClosure),
  soak_due_at: req(TimestampCodec),
  enqueued_at: req(TimestampCodec),
});
export type DispatchWire = t.TypeOf<typeof DispatchWire>;

export const TokenClaims = struct('TokenClaims', {
  hostname: req(Text),
  /** Standard padded base64 of SHA-256 over the raw 32-byte ed25519 public key. */
  expectedPubkeyFingerprint: req(Text),
  issuedAt: req(TimestampCodec),
  expiresAt: req(TimestampCodec),
  nonce: req(Text),
});
export type TokenClaims = t.TypeOf<typeof TokenClaims>;

/**
 * The operator-minted one-shot token, read from the token file and sent as
 * upstream re-serialises it (timestamps in chrono's spelling). The CP checks
 * `version` and the signature; the agent only passes it on.
 */
export const BootstrapToken = struct('BootstrapToken', {
  version: req(U32),
  claims: req(TokenClaims),
  signature: req(Text),
});
export type BootstrapToken = t.TypeOf<typeof BootstrapToken>;

export const EnrollRequest = struct('EnrollRequest', {
  token: req(BootstrapToken),
  csrPem: req(Text),
});
export type EnrollRequest = t.TypeOf<typeof EnrollRequest>;

export const RenewRequest = struct('RenewRequest', {
  csrPem: req(Text),
});
export type RenewRequest = t.TypeOf<typeof RenewRequest>;

/** `EnrollResponse` and `RenewResponse` (same shape upstream). */
export const IssuedCert = struct('IssuedCert', {
  certPem: req(Text),
  notAfter: req(TimestampCodec),
});
export type IssuedCert = t.TypeOf<typeof IssuedCert>;

/** The readiness gate's 503 body (`Retry-After: 30`). */
export const NotReadyBody = struct('NotReadyBody', {
  error: req(Text),
  reason: opt(Text),
});
export type NotReadyBody = t.TypeOf<typeof NotReadyBody>;

/** The text upstream's agent looks for in a 503 body before retrying enrollment. */
export const NOT_READY_MARKER = 'control plane not ready';

/** Protocol header (upstream constant, lowercase) and the major version we speak. */
export const PROTOCOL_VERSION_HEADER = 'x-nixfleet-protocol';
export const PROTOCOL_MAJOR_VERSION = 1;
/** Optional heartbeat response header: the CP's stored last seq (u64). */
export const REPLAY_FROM_HEADER = 'x-nixfleet-replay-from';

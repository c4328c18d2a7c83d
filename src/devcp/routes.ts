// The dev CP's routes, with upstream's layer order and status codes
// (reference wire-protocol.md §2–§4; upstream server/middleware.rs and
// routes/*.rs): readiness (503 + Retry-After: 30), protocol header (absent
// or 1 accepted, another integer 426, garbage 400), mTLS identity (401
// without a verified client certificate; machine id from the CN), then the
// handler; JSON bodies as axum extracts them (415 wrong content type, 400
// malformed JSON, 422 schema mismatch). `/healthz` and `/v1/enroll` need no
// certificate. Error bodies are short plain-text reasons (upstream sends
// none; the agent only reads the status).
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { decodeWith, encodeJson } from '../codecs/decode';
import { AgentEvent, AgentEventEnvelope } from '../codecs/events';
import { HostRolloutState } from '../codecs/host-state';
import { decodeUtf8, parseJson } from '../codecs/jcs';
import { RolloutPolicy } from '../codecs/policy';
import { MAX_WAIT_SECS } from '../codecs/protocol';
import type { Timestamp } from '../codecs/timestamp';
import {
  DispatchWire,
  EnrollRequest,
  HeartbeatRequestWire,
  HeartbeatResponseWire,
  IssuedCert,
  NOT_READY_MARKER,
  PROTOCOL_MAJOR_VERSION,
  PROTOCOL_VERSION_HEADER,
  RenewRequest,
  REPLAY_FROM_HEADER,
} from '../codecs/wire';
import type { Dispatch } from '../ports/control-plane';
import { errorMessage } from '../ports/error-text';
import type { DevCpCore } from './core';
import { isOnHealthFailure, looksLikeRolloutId } from './fleet';
import type { Reply, Request } from './http';
import type { LongPolls } from './longpoll';
import { EventRow } from './persist';
import { extractMachineId } from './pki';

export const NOT_READY_BODY = { error: NOT_READY_MARKER, reason: 'awaiting first signed artifact' } as const;
const DEFAULT_EVENTS_LIMIT = 1000;

export interface RouteContext {
  readonly core: DevCpCore;
  readonly polls: LongPolls;
  readonly now: () => Timestamp;
  readonly cnSuffix: string | undefined;
  /** 400 when the protocol header is absent (upstream `--strict`). */
  readonly strictVersion: boolean;
  readonly isReady: () => boolean;
  readonly version: string;
  /** Bearer token for `/dev/admin/*`; admin routes are off when undefined. */
  readonly adminToken: string | undefined;
  /** Fault injection: a reply here replaces the route's (specs of a misbehaving CP). */
  readonly intercept: (req: Request) => Reply | undefined;
  readonly wipeDatabase: () => void;
}

const text = (status: number, body: string): Reply => ({ status, body });
const json = (status: number, body: unknown): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const bytes = (body: Uint8Array, contentType: string): Reply => ({ status: 200, headers: { 'content-type': contentType }, body });
const noContent: Reply = { status: 204 };

/** axum's `Json<T>` extractor: content type, then syntax, then the typed shape. */
export function jsonBody<A>(req: Request, codec: t.Type<A, unknown, unknown>): E.Either<Reply, A> {
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (ct === undefined || !(ct === 'application/json' || (ct.startsWith('application/') && ct.endsWith('+json')))) {
    return E.left(text(415, 'Expected request with `Content-Type: application/json`'));
  }
  const utf8 = decodeUtf8(req.body);
  if (E.isLeft(utf8)) return E.left(text(400, `Failed to parse the request body as JSON: ${utf8.left.message}`));
  const parsed = parseJson(utf8.right);
  if (E.isLeft(parsed)) return E.left(text(400, `Failed to parse the request body as JSON: ${parsed.left.message}`));
  const typed = decodeWith(codec, parsed.right);
  if (E.isLeft(typed)) return E.left(text(422, `Failed to deserialize the JSON body into the target type: ${typed.left.message}`));
  return E.right(typed.right);
}

/** upstream `protocol_version_middleware`: `u32` parse, no trimming. */
function versionCheck(req: Request, strict: boolean): Reply | undefined {
  const raw = req.headers[PROTOCOL_VERSION_HEADER];
  if (raw === undefined) return strict ? text(400, 'missing X-Nixfleet-Protocol header') : undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (!/^\+?\d+$/.test(value) || Number(value) > 0xffff_ffff) return text(400, 'X-Nixfleet-Protocol header malformed');
  return Number(value) === PROTOCOL_MAJOR_VERSION ? undefined : text(426, `protocol version ${Number(value)} not supported; this control plane speaks ${PROTOCOL_MAJOR_VERSION}`);
}

const dispatchReply = (d: Dispatch): Reply =>
  json(200, encodeJson(DispatchWire, { hostname: d.hostname, rollout_id: d.rolloutId, target_closure: d.targetClosure, soak_due_at: d.soakDueAt, enqueued_at: d.enqueuedAt }));

function waitOf(query: URLSearchParams): number | undefined {
  const raw = query.get('wait');
  if (raw === null) return MAX_WAIT_SECS;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) return undefined;
  return Math.min(Number(raw), MAX_WAIT_SECS);
}

function dispatch(ctx: RouteContext, host: string, req: Request): Reply | Promise<Reply> {
  const wait = waitOf(req.query);
  if (wait === undefined) return text(400, 'wait must be a non-negative integer (seconds)');
  const ready = ctx.core.takeDispatch(host);
  if (ready !== undefined) return dispatchReply(ready);
  if (wait === 0) return noContent;
  return new Promise<Reply>((resolve) => {
    let taken: Dispatch | undefined;
    const cancel = ctx.polls.park(
      host,
      wait * 1000,
      () => {
        taken = ctx.core.takeDispatch(host);
        return taken !== undefined;
      },
      (outcome) => {
        if (outcome === 'taken' && taken !== undefined) resolve(dispatchReply(taken));
        else if (outcome === 'closed') resolve(text(503, 'control plane shutting down'));
        else resolve(noContent);
      },
    );
    if (cancel === undefined) resolve({ status: 503, headers: { 'retry-after': '5' }, body: 'too many parked long-polls' });
    else req.onAbort(cancel);
  });
}

const eventEntry = (e: EventRow) => ({
  seq: e.seq,
  ts: e.ts,
  kind: 'agent_event',
  host: e.host,
  payload: AgentEvent.encode(e.event),
  // Ours (unknown keys are ignored by upstream's reader): what the mirror did with it.
  rolloutId: e.rolloutId,
  outcome: e.outcome,
  ...(e.reason !== undefined ? { reason: e.reason } : {}),
});

function rolloutRoutes(ctx: RouteContext, req: Request, rest: string): Reply {
  const [id = '', sub, ...more] = rest.split('/');
  if (more.length > 0) return text(404, 'not found');
  if (sub === undefined || sub === 'sig') {
    if (req.method !== 'GET') return text(405, 'method not allowed');
    if (!looksLikeRolloutId(id)) return text(404, 'not a rollout id');
    const m = ctx.core.manifest(id);
    if (m === undefined) return text(404, `unknown rollout ${id}`);
    return sub === 'sig' ? bytes(m.signature, 'application/octet-stream') : bytes(m.bytes, 'application/json');
  }
  if (sub === 'events') {
    if (req.method !== 'GET') return text(405, 'method not allowed');
    if (!looksLikeRolloutId(id)) return text(400, 'not a rollout id');
    const rawLimit = req.query.get('limit');
    if (rawLimit !== null && !/^-?\d+$/.test(rawLimit)) return text(400, 'limit must be an integer');
    const limit = rawLimit === null ? DEFAULT_EVENTS_LIMIT : Math.max(1, Number(rawLimit));
    return json(200, { rollout_id: id, events: ctx.core.events(id, limit).map(eventEntry) });
  }
  return text(404, 'not found');
}

function admin(ctx: RouteContext, req: Request): Reply {
  if (ctx.adminToken === undefined) return text(404, 'not found');
  if (req.headers.authorization !== `Bearer ${ctx.adminToken}`) return text(401, 'admin routes need Authorization: Bearer <admin token>');
  if (req.method !== 'POST') return text(405, 'method not allowed');
  if (req.path === '/dev/admin/wipe') {
    ctx.wipeDatabase();
    return noContent;
  }
  if (req.path === '/dev/admin/resign') {
    ctx.core.resign();
    return noContent;
  }
  if (req.path !== '/dev/admin/release') return text(404, 'not found');
  const utf8 = decodeUtf8(req.body);
  const parsed = E.isRight(utf8) ? parseJson(utf8.right) : utf8;
  if (E.isLeft(parsed) || typeof parsed.right !== 'object' || parsed.right === null || Array.isArray(parsed.right)) return text(400, 'body must be a JSON object');
  const body = parsed.right as Record<string, unknown>;
  const closures = body['closures'];
  if (typeof closures !== 'object' || closures === null || Array.isArray(closures) || !Object.values(closures).every((v) => typeof v === 'string')) {
    return text(422, 'closures must be an object of host → closure');
  }
  const policyRaw = body['policy'] ?? body['onHealthFailure'];
  let policy: RolloutPolicy | 'halt' | 'rollback-and-halt' | undefined;
  if (policyRaw !== undefined) {
    if (isOnHealthFailure(policyRaw)) policy = policyRaw;
    else {
      const p = decodeWith(RolloutPolicy, policyRaw);
      if (E.isLeft(p)) return text(422, p.left.message);
      policy = p.right;
    }
  }
  const soak = body['soakMinutes'];
  if (soak !== undefined && (typeof soak !== 'number' || !Number.isFinite(soak) || soak < 0)) return text(422, 'soakMinutes must be a number >= 0');
  const channel = body['channel'];
  if (channel !== undefined && typeof channel !== 'string') return text(422, 'channel must be a string');
  try {
    const r = ctx.core.release({
      closures: closures as Record<string, string>,
      ...(channel !== undefined ? { channel } : {}),
      ...(policy !== undefined ? { policy } : {}),
      ...(soak !== undefined ? { soakMinutes: soak } : {}),
    });
    return json(200, r);
  } catch (e) {
    return text(422, errorMessage(e));
  }
}

/** The whole request pipeline of the dev CP. */
export function createRoutes(ctx: RouteContext): (req: Request) => Reply | Promise<Reply> {
  return (req) => {
    const intercepted = ctx.intercept(req);
    if (intercepted !== undefined) return intercepted;
    const { core } = ctx;
    if (req.path === '/healthz') return req.method === 'GET' ? json(200, { ok: true, version: ctx.version, last_tick_at: null }) : text(405, 'method not allowed');
    if (req.path.startsWith('/dev/admin/')) return admin(ctx, req);
    if (!req.path.startsWith('/v1/')) return text(404, 'not found');

    // 1. readiness, 2. protocol version, 3. mTLS identity (not for enroll), 4. the handler.
    if (!ctx.isReady()) return { status: 503, headers: { 'retry-after': '30', 'content-type': 'application/json' }, body: JSON.stringify(NOT_READY_BODY) };
    const badVersion = versionCheck(req, ctx.strictVersion);
    if (badVersion !== undefined) return badVersion;

    if (req.path === '/v1/enroll') {
      if (req.method !== 'POST') return text(405, 'method not allowed');
      const body = jsonBody(req, EnrollRequest);
      if (E.isLeft(body)) return body.left;
      return core.enroll(body.right).then((v) => (v.ok ? json(200, encodeJson(IssuedCert, v.value)) : text(v.status, v.reason)));
    }

    if (req.peer === undefined) return text(401, 'a client certificate issued by the fleet CA is required');
    const cn = req.peer.cn;
    const machineId = extractMachineId(cn, ctx.cnSuffix);
    const get = req.method === 'GET';
    const post = req.method === 'POST';

    switch (req.path) {
      case '/v1/agent/renew': {
        if (!post) return text(405, 'method not allowed');
        const body = jsonBody(req, RenewRequest);
        if (E.isLeft(body)) return body.left;
        return core.renew(machineId, body.right.csrPem).then((v) => (v.ok ? json(200, encodeJson(IssuedCert, v.value)) : text(v.status, v.reason)));
      }
      case '/v1/agent/heartbeat': {
        if (!post) return text(405, 'method not allowed');
        const body = jsonBody(req, HeartbeatRequestWire);
        if (E.isLeft(body)) return body.left;
        const hb = body.right;
        if (hb.hostname !== machineId) return text(403, `certificate is for ${machineId}, body hostname is ${hb.hostname}`);
        const r = core.heartbeat(machineId, {
          at: hb.at,
          ...(hb.rollout_id !== undefined ? { rolloutId: hb.rollout_id } : {}),
          ...(hb.current_closure !== undefined ? { currentClosure: hb.current_closure } : {}),
        });
        const reply = encodeJson(HeartbeatResponseWire, { received_at: r.receivedAt, ...(r.bootstrapRollouts.length > 0 ? { bootstrap_rollouts: [...r.bootstrapRollouts] } : {}) });
        return { ...json(200, reply), headers: { 'content-type': 'application/json', ...(r.replayFrom !== undefined ? { [REPLAY_FROM_HEADER]: String(r.replayFrom) } : {}) } };
      }
      case '/v1/agent/dispatch':
        return get ? dispatch(ctx, machineId, req) : text(405, 'method not allowed');
      case '/v1/agent/events': {
        if (!post) return text(405, 'method not allowed');
        const body = jsonBody(req, AgentEventEnvelope);
        if (E.isLeft(body)) return body.left;
        if (body.right.hostname !== machineId) return text(403, `certificate is for ${machineId}, envelope hostname is ${body.right.hostname}`);
        // Always 204 for a well-formed envelope from the right host: duplicates,
        // unknown records and illegal events are dropped (logged), never refused.
        core.ingest(body.right);
        return noContent;
      }
      case '/v1/fleet.resolved':
        return get ? bytes(core.fleetArtifact.bytes, 'application/json') : text(405, 'method not allowed');
      case '/v1/fleet.resolved/sig':
        return get ? bytes(core.fleetArtifact.signature, 'application/octet-stream') : text(405, 'method not allowed');
      case '/v1/whoami':
        return get ? json(200, { cn, issuedAt: ctx.now() }) : text(405, 'method not allowed');
      case '/v1/hosts':
        return get ? json(200, { hosts: core.hosts().map((h) => ({ ...h, records: h.records.map((r) => HostRolloutState.encode(r)) })) }) : text(405, 'method not allowed');
      case '/v1/rollouts':
        return get ? json(200, { rollouts: core.rollouts() }) : text(405, 'method not allowed');
      default:
        if (req.path.startsWith('/v1/rollouts/')) return rolloutRoutes(ctx, req, req.path.slice('/v1/rollouts/'.length));
        return text(404, 'not found');
    }
  };
}

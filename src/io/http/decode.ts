// From one HTTP answer to a typed value or a CpError, per endpoint, with
// upstream's status handling (reference wire-protocol.md §4). Pure: bytes in,
// Either out, so the fuzz specs can drive every decoder without a socket.
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { decodeJson } from '../../codecs/decode';
import { escapeControl } from '../../codecs/escape';
import { DispatchWire, HeartbeatResponseWire, IssuedCert, REPLAY_FROM_HEADER } from '../../codecs/wire';
import type { CpError, DeliveryOutcome, DispatchAnswer, HeartbeatAnswer } from '../../ports/control-plane';
import type { HttpResponse } from './transport';

// Enough of an error body to read in a log line; the rest is noise or hostile.
export const MAX_ERROR_TEXT = 512;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/** Strict UTF-8 (serde_json refuses invalid UTF-8 and a BOM, and so do we). */
function text(body: Uint8Array): E.Either<string, string> {
  try {
    return E.right(utf8.decode(body));
  } catch {
    return E.left('body is not valid UTF-8');
  }
}

/**
 * A short printable excerpt of an error body for messages and logs: one
 * line, every control character (LF, C1, U+2028 included) written out as
 * `\xNN` / `\uNNNN` (src/codecs/escape.ts), so a hostile body cannot forge
 * log lines or drive a terminal wherever the message ends up.
 */
export function bodyExcerpt(res: HttpResponse): string {
  const raw = Buffer.from(res.body.subarray(0, MAX_ERROR_TEXT)).toString('utf8');
  const clean = escapeControl(raw.trim());
  return clean.length === 0 ? '(empty body)' : res.body.length > MAX_ERROR_TEXT || res.bodyTooLarge ? `${clean}…` : clean;
}

/**
 * `Retry-After` as whole seconds: delta-seconds, or an HTTP-date relative to
 * `nowMs`. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (!/[A-Za-z]/.test(v) || Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** The answer as a `status` CpError (with `retryAfterSecs` on 503 and 429). */
export function statusError(res: HttpResponse, what: string, nowMs: number): CpError {
  const message = `${what}: ${bodyExcerpt(res)}`;
  const retryAfterSecs = res.status === 503 || res.status === 429 ? parseRetryAfter(res.headers['retry-after'], nowMs) : undefined;
  return retryAfterSecs === undefined ? { kind: 'status', status: res.status, message } : { kind: 'status', status: res.status, message, retryAfterSecs };
}

const decodeError = (what: string, reason: string): CpError => ({ kind: 'decode', message: `${what}: ${reason}` });

/** Decodes a 2xx JSON body with `codec`; any other status is a `status` error. */
export function decodeBody<A, O>(codec: t.Type<A, O, unknown>, res: HttpResponse, what: string, nowMs: number): E.Either<CpError, A> {
  if (!isSuccess(res.status)) return E.left(statusError(res, what, nowMs));
  if (res.bodyTooLarge) return E.left(decodeError(what, `body larger than ${res.body.length} bytes`));
  const body = text(res.body);
  if (E.isLeft(body)) return E.left(decodeError(what, body.left));
  const r = decodeJson(codec, body.right);
  return E.isLeft(r) ? E.left(decodeError(what, r.left.message)) : E.right(r.right);
}

/** `GET /v1/agent/dispatch`: 204, an empty body or JSON null mean no work. */
export function dispatchAnswer(res: HttpResponse, nowMs: number): E.Either<CpError, DispatchAnswer> {
  const what = `HTTP ${res.status} from GET /v1/agent/dispatch`;
  if (res.status === 204) return E.right({ kind: 'none' });
  if (isSuccess(res.status) && !res.bodyTooLarge) {
    const body = text(res.body);
    if (E.isRight(body) && (body.right.trim() === '' || body.right.trim() === 'null')) return E.right({ kind: 'none' });
  }
  return E.map(
    (w: DispatchWire): DispatchAnswer => ({
      kind: 'dispatch',
      dispatch: { hostname: w.hostname, rolloutId: w.rollout_id, targetClosure: w.target_closure, soakDueAt: w.soak_due_at, enqueuedAt: w.enqueued_at },
    }),
  )(decodeBody(DispatchWire, res, what, nowMs));
}

/** `X-Nixfleet-Replay-From`: a u64 within JavaScript's exact range, else ignored (as upstream ignores a malformed one). */
export function replayFromOf(res: HttpResponse): number | undefined {
  const v = res.headers[REPLAY_FROM_HEADER]?.trim();
  if (v === undefined || !/^\d{1,16}$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `POST /v1/agent/heartbeat`. A 2xx with no body at all reads as "no
 * snapshots" (upstream treats it as a parse error and backs off; the CP's
 * answer carried nothing to lose).
 */
export function heartbeatAnswer(res: HttpResponse, nowMs: number): E.Either<CpError, HeartbeatAnswer> {
  const what = `HTTP ${res.status} from POST /v1/agent/heartbeat`;
  const replayFrom = replayFromOf(res);
  const withReplay = (a: Omit<HeartbeatAnswer, 'replayFrom'>): HeartbeatAnswer => (replayFrom === undefined ? a : { ...a, replayFrom });
  if (isSuccess(res.status) && !res.bodyTooLarge && res.body.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
    return E.right(withReplay({ bootstrapRollouts: [] }));
  }
  return E.map((w: HeartbeatResponseWire) =>
    withReplay(
      w.received_at === undefined
        ? { bootstrapRollouts: w.bootstrap_rollouts ?? [] }
        : { receivedAt: w.received_at, bootstrapRollouts: w.bootstrap_rollouts ?? [] },
    ),
  )(decodeBody(HeartbeatResponseWire, res, what, nowMs));
}

// Statuses that say "this request can never succeed": malformed (400), gone
// (410), too large (413), wrong media type (415), semantically refused (422),
// conflicting duplicate (409). Everything else that is not 2xx is the CP's or
// the network's problem (401/403 cert, 404 wrong CP version, 408/429/5xx) and
// is retried, because dead-lettering would lose a good event.
const POISON_STATUSES: ReadonlySet<number> = new Set([400, 409, 410, 413, 415, 422]);

/** What the drainer does with a status: the one place a delivery is classified. */
export const deliveryKind = (status: number): DeliveryOutcome['kind'] => (isSuccess(status) ? 'acked' : POISON_STATUSES.has(status) ? 'poison' : 'retry');

/** `POST /v1/agent/events`: only the status matters (the CP answers 204). */
export function deliveryOutcome(res: HttpResponse): DeliveryOutcome {
  const kind = deliveryKind(res.status);
  if (kind === 'acked') return { kind };
  return { kind, status: res.status, reason: `HTTP ${res.status}: ${bodyExcerpt(res)}` };
}

/** `POST /v1/enroll` and `POST /v1/agent/renew`: `{certPem, notAfter}`. */
export const issuedCert = (res: HttpResponse, what: string, nowMs: number): E.Either<CpError, IssuedCert> =>
  decodeBody(IssuedCert, res, `${what}: ${res.status}`, nowMs);

/** Signed artifact bytes (decoded later, after the signature check). */
export function artifactBytes(res: HttpResponse, what: string, nowMs: number): E.Either<CpError, Uint8Array> {
  if (!isSuccess(res.status)) return E.left(statusError(res, `HTTP ${res.status} from GET ${what}`, nowMs));
  if (res.bodyTooLarge) return E.left(decodeError(`GET ${what}`, `body larger than ${res.body.length} bytes`));
  return E.right(res.body);
}

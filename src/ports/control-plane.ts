// The control plane as the graph sees it (reference wire-protocol.md,
// agent-runtime.md §14). Every call is a cold Observable: the request starts
// on subscribe and is aborted on unsubscribe. Bodies are already decoded;
// failures arrive on the error channel as a CpError, never as raw exceptions.
import type { Observable } from 'rxjs';
import type { HostRolloutSnapshot } from '../codecs/host-state';
import type { Timestamp } from '../codecs/timestamp';

/** `GET /v1/agent/dispatch` 200 body (snake_case on the wire). */
export interface Dispatch {
  readonly hostname: string;
  readonly rolloutId: string;
  readonly targetClosure: string;
  readonly soakDueAt: Timestamp;
  readonly enqueuedAt: Timestamp;
}

/** `none`: 204, an empty body or JSON null — no work. */
export type DispatchAnswer = { readonly kind: 'none' } | { readonly kind: 'dispatch'; readonly dispatch: Dispatch };

export interface HeartbeatRequest {
  readonly hostname: string;
  readonly currentClosure?: string;
  readonly rolloutId?: string;
  readonly at: Timestamp;
}

export interface HeartbeatAnswer {
  readonly receivedAt?: Timestamp;
  readonly bootstrapRollouts: readonly HostRolloutSnapshot[];
  /** `X-Nixfleet-Replay-From`, when present and a valid u64. */
  readonly replayFrom?: number;
}

/**
 * - `transport`: no HTTP answer (refused, reset, TLS, timeout); `untrusted`
 *   when the answer came from a server whose certificate does not verify
 *   against the configured CA (wrong `--ca-cert`, or not the fleet's CP);
 * - `status`: an HTTP answer outside what the call accepts (`retryAfterSecs` from 503);
 * - `decode`: a 2xx whose body did not decode.
 */
export type CpError =
  | { readonly kind: 'transport'; readonly message: string; readonly untrusted?: true }
  | { readonly kind: 'status'; readonly status: number; readonly message: string; readonly retryAfterSecs?: number }
  | { readonly kind: 'decode'; readonly message: string };

/**
 * Outcome of `POST /v1/agent/events` for one queued envelope, decided once by
 * the adapter; the drainer only acts on it. `reason` is one readable line.
 */
export type DeliveryOutcome =
  /** 2xx: delete the event. */
  | { readonly kind: 'acked' }
  /** The CP will never accept this body (400, 409, 410, 413, 415, 422): dead-letter it. */
  | { readonly kind: 'poison'; readonly status: number; readonly reason: string }
  /**
   * Send it again later, keeping the order: every other answer (401/403 cert,
   * 404 older CP, 408, 429, 5xx; `status` set) and no answer (transport errors).
   */
  | { readonly kind: 'retry'; readonly status?: number; readonly reason: string };

export interface ControlPlanePort {
  dispatch(waitSecs: number): Observable<DispatchAnswer>;
  heartbeat(body: HeartbeatRequest): Observable<HeartbeatAnswer>;
  /** Sends a stored envelope (JSON text) as is. Never errors: the outcome says what happened. */
  postEvent(body: string): Observable<DeliveryOutcome>;
}

/** One readable line; a status message that already names its status (`HTTP 401 from …`) is not prefixed again. */
export const describeCpError = (e: CpError): string =>
  e.kind === 'status' ? (e.message.startsWith(`HTTP ${e.status}`) ? e.message : `HTTP ${e.status}: ${e.message}`) : `${e.kind}: ${e.message}`;

export function isCpError(u: unknown): u is CpError {
  return typeof u === 'object' && u !== null && ['transport', 'status', 'decode'].includes((u as { kind?: unknown }).kind as string);
}

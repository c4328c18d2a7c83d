// One HTTP exchange with the control plane, as a cold Observable on axios:
// the request starts on subscribe, unsubscribing aborts it (src/io/from-work.ts),
// a deadline covers the whole exchange (headers and body), the body is read
// up to a cap and never further, and every request carries the protocol
// header. The result is bytes plus status and headers; decoding is the
// caller's (see decode.ts). Failures arrive as a CpError, never an exception.
import type { Readable } from 'node:stream';
import type * as Axios from 'axios';
import { catchError, defer, finalize, throwError, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { PROTOCOL_MAJOR_VERSION, PROTOCOL_VERSION_HEADER } from '../../codecs/wire';
import type { CpError } from '../../ports/control-plane';
import { axios } from '../axios-lazy';
import { fromWork } from '../from-work';
import type { AgentPool, Lease } from './agents';

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  /** Absolute path, e.g. `/v1/agent/heartbeat`; the query string included. */
  readonly path: string;
  /** JSON text (sent as `application/json`). */
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

export interface HttpResponse {
  readonly status: number;
  /** Lowercase names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** At most `maxBodyBytes` bytes. */
  readonly body: Uint8Array;
  /** The server sent more than `maxBodyBytes`; `body` is the cut prefix and must not be decoded. */
  readonly bodyTooLarge: boolean;
}

export interface Transport {
  request(req: HttpRequest): Observable<HttpResponse>;
  readonly baseUrl: string;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly agents: AgentPool;
  readonly scheduler: SchedulerLike;
  readonly userAgent: string;
}

function headerRecord(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  const json: unknown = typeof (raw as { toJSON?: unknown }).toJSON === 'function' ? (raw as { toJSON(): unknown }).toJSON() : raw;
  if (typeof json !== 'object' || json === null) return out;
  for (const [k, v] of Object.entries(json)) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
    else if (typeof v === 'number') out[k.toLowerCase()] = String(v);
    else if (Array.isArray(v)) out[k.toLowerCase()] = v.filter((x): x is string => typeof x === 'string').join(', ');
  }
  return out;
}

/** Reads the stream until it ends or passes `max` bytes (then destroys it). */
async function readCapped(stream: Readable, max: number): Promise<{ body: Uint8Array; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    if (size + buf.length > max) {
      chunks.push(buf.subarray(0, max - size));
      stream.destroy();
      return { body: new Uint8Array(Buffer.concat(chunks)), tooLarge: true };
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { body: new Uint8Array(Buffer.concat(chunks)), tooLarge: false };
}

// OpenSSL's verdicts on the server's certificate, as Node reports them.
const CERT_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The transport error for `err`, marked `untrusted` when the server's certificate did not verify. */
function transportError(req: HttpRequest, err: unknown, message = describeTransportError(err)): CpError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : e.cause?.code;
  return { kind: 'transport', message: `${req.method} ${req.path}: ${message}`, ...(typeof code === 'string' && CERT_VERIFY_CODES.has(code) ? { untrusted: true as const } : {}) };
}

function describeTransportError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof e.message === 'string' && e.message.length > 0 ? e.message : typeof cause?.message === 'string' ? cause.message : 'request failed';
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  let ax: Axios.AxiosInstance | undefined;
  const instance = (): Axios.AxiosInstance =>
    (ax ??= axios().create({
      adapter: 'http',
      // Never follow redirects (the client identity must not travel elsewhere)
      // and never route through an environment proxy (it would end the mTLS session).
      maxRedirects: 0,
      proxy: false,
      responseType: 'stream',
      validateStatus: () => true,
      transformRequest: [],
      transformResponse: [],
    }));

  const exchange = async (req: HttpRequest, agent: Lease['agent'], signal: AbortSignal): Promise<HttpResponse> => {
    const headers: Record<string, string> = {
      [PROTOCOL_VERSION_HEADER]: String(PROTOCOL_MAJOR_VERSION),
      'user-agent': options.userAgent,
      accept: 'application/json',
    };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await instance().request<Readable>({
      url: baseUrl + req.path,
      method: req.method,
      headers,
      httpsAgent: agent,
      signal,
      ...(req.body === undefined ? {} : { data: Buffer.from(req.body, 'utf8') }),
    });
    const stream = res.data;
    const onAbort = (): void => {
      stream.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { body, tooLarge } = await readCapped(stream, req.maxBodyBytes);
      return { status: res.status, headers: headerRecord(res.headers), body, bodyTooLarge: tooLarge };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  // The deadline unsubscribes, which aborts the exchange; the lease ends
  // with the subscription however it ends.
  const request = (req: HttpRequest): Observable<HttpResponse> =>
    defer(() => {
      const lease = options.agents.lease();
      return fromWork((signal) => exchange(req, lease.agent, signal)).pipe(finalize(() => lease.release()));
    }).pipe(
      catchError((err: unknown) => throwError(() => transportError(req, err))),
      timeout({ first: req.timeoutMs, scheduler: options.scheduler, with: () => throwError(() => transportError(req, undefined, `timeout after ${req.timeoutMs} ms`)) }),
    );

  return { request, baseUrl };
}

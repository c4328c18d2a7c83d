// One HTTP exchange with the control plane, as a cold Observable on axios:
// the request starts on subscribe, unsubscribing aborts it (src/io/from-work.ts),
// a deadline covers the whole exchange (headers and body), the body is read
// up to a cap and never further, and every request carries the protocol
// header. The result is bytes plus status and headers; decoding is the
// caller's (see decode.ts). Failures arrive as a CpError, never an exception.
//
// Redirects (reqwest follows 10 to any host, a POST turned into a GET by
// 301/302/303): followed only within the CP's origin (scheme, host, port), at
// most MAX_REDIRECTS hops, and a POST only by 307/308, which keep its method
// and body. Anything else fails as a transport error naming both ends, so the
// client identity and the reports go to the configured CP and nowhere else.
import type { Readable } from 'node:stream';
import type * as Axios from 'axios';
import { catchError, defer, finalize, throwError, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { PROTOCOL_MAJOR_VERSION, PROTOCOL_VERSION_HEADER } from '../../codecs/wire';
import type { CpError } from '../../ports/control-plane';
import { axios } from '../axios-lazy';
import { fromWork } from '../from-work';
import type { AgentPool, Lease } from './agents';
import type { ProxyEndpoint } from './proxy-env';
import { ProxyError } from './proxy-tunnel';

export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

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
  /**
   * The forward proxy for an `http://` CP (development only); an `https://`
   * CP tunnels through the agent pool's proxy instead.
   */
  readonly httpProxy?: ProxyEndpoint;
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

/** Scheme, host and port (default ports elided by URL). */
const originOf = (u: URL): string => `${u.protocol}//${u.host}`;

function describeTransportError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof e.message === 'string' && e.message.length > 0 ? e.message : typeof cause?.message === 'string' ? cause.message : 'request failed';
  // A ProxyError's message names the proxy already.
  return code === undefined || code === 'EPROXY' || message.includes(code) ? message : `${code}: ${message}`;
}

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  let ax: Axios.AxiosInstance | undefined;
  const instance = (): Axios.AxiosInstance =>
    (ax ??= axios().create({
      adapter: 'http',
      // Redirects are followed here (see the top), and a proxy is the
      // agent's CONNECT tunnel, never axios's own (which ends TLS at the proxy).
      maxRedirects: 0,
      proxy: false,
      responseType: 'stream',
      validateStatus: () => true,
      transformRequest: [],
      transformResponse: [],
    }));

  const forward = options.httpProxy;
  const viaProxy = (url: URL): Partial<Axios.AxiosRequestConfig> =>
    forward === undefined || url.protocol !== 'http:'
      ? { proxy: false }
      : { proxy: { protocol: 'http', host: forward.host, port: forward.port } };

  /** One request, no redirect followed. */
  const send = async (url: URL, req: HttpRequest, agent: Lease['agent'], signal: AbortSignal): Promise<Axios.AxiosResponse<Readable>> => {
    const headers: Record<string, string> = {
      [PROTOCOL_VERSION_HEADER]: String(PROTOCOL_MAJOR_VERSION),
      'user-agent': options.userAgent,
      accept: 'application/json',
    };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (forward?.authorization !== undefined && url.protocol === 'http:') headers['proxy-authorization'] = forward.authorization;
    try {
      const res = await instance().request<Readable>({
        url: url.href,
        method: req.method,
        headers,
        httpsAgent: agent,
        signal,
        ...viaProxy(url),
        ...(req.body === undefined ? {} : { data: Buffer.from(req.body, 'utf8') }),
      });
      if (forward !== undefined && url.protocol === 'http:' && res.status === 407) {
        res.data.destroy();
        throw new ProxyError(forward, 'answered 407 (proxy authentication required: credentials go in the proxy URL, http://user:password@host:port)');
      }
      return res;
    } catch (err) {
      // No answer from a forward proxy is the proxy's failure, and says so.
      if (forward !== undefined && url.protocol === 'http:' && !(err instanceof ProxyError) && !signal.aborted) throw new ProxyError(forward, describeTransportError(err));
      throw err;
    }
  };

  /** The answer after same-origin redirects; a redirect that may not be followed is an error. */
  const follow = async (req: HttpRequest, agent: Lease['agent'], signal: AbortSignal): Promise<Axios.AxiosResponse<Readable>> => {
    let url = new URL(baseUrl + req.path);
    for (let hops = 0; ; hops++) {
      const res = await send(url, req, agent, signal);
      const location: unknown = REDIRECT_STATUSES.has(res.status) ? res.headers['location'] : undefined;
      if (typeof location !== 'string' || location === '') return res;
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return res; // an unreadable Location: the 3xx is the answer, as reqwest returns it
      }
      res.data.destroy();
      if (originOf(next) !== originOf(url)) throw new Error(`redirect (${res.status}) to another origin not followed: ${originOf(url)} -> ${originOf(next)}`);
      if (req.method === 'POST' && res.status !== 307 && res.status !== 308) throw new Error(`redirect (${res.status}) of a POST not followed: it would be re-sent as a GET without its body`);
      if (hops >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      url = next;
    }
  };

  const exchange = async (req: HttpRequest, agent: Lease['agent'], signal: AbortSignal): Promise<HttpResponse> => {
    const res = await follow(req, agent, signal);
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

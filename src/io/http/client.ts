// The control-plane client: ControlPlanePort plus enrollment, renewal and the
// signed-artifact fetches, over one transport whose HTTPS identity can be
// swapped live. Endpoints, timeouts and status handling follow reference
// wire-protocol.md §4 and agent-runtime.md §10; every decoded body is typed.
import * as E from 'fp-ts/Either';
import { asyncScheduler, concatMap, defer, map, Observable, of, throwError, catchError, type SchedulerLike } from 'rxjs';
import { encodeJson } from '../../codecs/decode';
import { MAX_WAIT_SECS } from '../../codecs/protocol';
import { EnrollRequest, HeartbeatRequestWire, RenewRequest, type IssuedCert } from '../../codecs/wire';
import type { ControlPlanePort, CpError, DeliveryOutcome, DispatchAnswer, HeartbeatAnswer, HeartbeatRequest } from '../../ports/control-plane';
import { silentLogger, type Logger } from '../../ports/logger';
import type { ArtifactSource, SignedArtifact } from '../../trust/manifest-cache';
import { createAgentPool, type PreparedAgent, type TlsMaterial } from './agents';
import { artifactBytes, deliveryOutcome, dispatchAnswer, heartbeatAnswer, issuedCert } from './decode';
import { cpFailureText } from './failure-text';
import { proxyFor, proxySettingsFromEnv, type ProxyEndpoint, type ProxySettings } from './proxy-env';
import { createTransport, type HttpRequest, type HttpResponse } from './transport';

export interface CpClientConfig {
  /** `--control-plane-url`; trailing slashes are stripped. */
  readonly baseUrl: string;
  /** CA and (after enrollment) client identity. */
  readonly tls: TlsMaterial;
  /** Deadlines and the connect timer run here. Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
  /** Default 10 000 (upstream `CONNECT_TIMEOUT`). */
  readonly connectTimeoutMs?: number;
  /** Enroll, renew and artifact fetches. Default 30 000 (upstream `REQUEST_TIMEOUT`). */
  readonly requestTimeoutMs?: number;
  /** Default 10 000 (upstream heartbeat worker). */
  readonly heartbeatTimeoutMs?: number;
  /** Per event POST. Default 10 000 (upstream outbound worker). */
  readonly eventTimeoutMs?: number;
  /** Long-poll deadline = wait + this. Default 5 000 (upstream: 60 s wait, 65 s timeout). */
  readonly longPollSlackMs?: number;
  /** Cap on JSON answers. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Cap on fleet.resolved / manifests / signatures. Default 16 MiB. */
  readonly maxArtifactBytes?: number;
  /** Also trust system roots when a CA is given. Default false (the configured CA alone). */
  readonly trustSystemRoots?: boolean;
  /** Default 8. */
  readonly maxSockets?: number;
  /** Default `nixfleet-agent`. */
  readonly userAgent?: string;
  /**
   * Proxies, as upstream reads them from HTTPS_PROXY, HTTP_PROXY, ALL_PROXY
   * and NO_PROXY (proxy-env.ts). Default: read from the process environment,
   * so a variable the agent cannot use throws a ProxyConfigError here.
   */
  readonly proxy?: ProxySettings;
}

export const CP_CLIENT_DEFAULTS = {
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  eventTimeoutMs: 10_000,
  longPollSlackMs: 5_000,
  maxBodyBytes: 1024 * 1024,
  maxArtifactBytes: 16 * 1024 * 1024,
  trustSystemRoots: false,
  maxSockets: 8,
  userAgent: 'nixfleet-agent',
} as const;

export { MAX_WAIT_SECS };

export interface CpClient extends ControlPlanePort {
  /** `timeoutMs` overrides the heartbeat deadline (the boot handshake uses 30 s). */
  heartbeat(body: HeartbeatRequest, options?: { readonly timeoutMs?: number }): Observable<HeartbeatAnswer>;
  enroll(request: EnrollRequest): Observable<IssuedCert>;
  renew(csrPem: string): Observable<IssuedCert>;
  /** `GET /v1/fleet.resolved` and `/v1/rollouts/{id}` with their `/sig` twins. */
  readonly artifacts: ArtifactSource;
  /** Validates `material` (throws, changing nothing, if unusable). */
  prepareIdentity(material: TlsMaterial): PreparedAgent;
  /** New requests use it at once; requests in flight finish on the old one. */
  installIdentity(prepared: PreparedAgent): void;
  readonly identity: TlsMaterial;
  /** Count of identity swaps so far. */
  readonly identityGeneration: number;
  close(): void;
}

/** Rollout ids are `channel@hex`; keep `@` literal as upstream's URL does, escape anything else. */
export const rolloutPath = (rolloutId: string): string => `/v1/rollouts/${encodeURIComponent(rolloutId).replace(/%40/g, '@')}`;

export function createCpClient(config: CpClientConfig): CpClient {
  const o = { ...CP_CLIENT_DEFAULTS, ...definedOnly(config) };
  const scheduler = config.scheduler ?? asyncScheduler;
  const logger = config.logger ?? silentLogger;
  const proxy = cpProxy(config.baseUrl, config.proxy ?? proxySettingsFromEnv(process.env));
  const agents = createAgentPool(config.tls, {
    scheduler,
    connectTimeoutMs: o.connectTimeoutMs,
    trustSystemRoots: o.trustSystemRoots,
    maxSockets: o.maxSockets,
    ...(proxy?.https === undefined ? {} : { proxy: proxy.https }),
  });
  const transport = createTransport({ baseUrl: config.baseUrl, agents, scheduler, userAgent: o.userAgent, ...(proxy?.http === undefined ? {} : { httpProxy: proxy.http }) });
  const url = (path: string): string => transport.baseUrl + path;

  /** Runs `req` and decodes it; decode failures are logged once here, at the edge. */
  const call = <A>(req: HttpRequest, decode: (res: HttpResponse, nowMs: number) => E.Either<CpError, A>): Observable<A> =>
    defer(() => transport.request(req)).pipe(
      concatMap((res) => {
        const r = decode(res, scheduler.now());
        if (E.isRight(r)) return of(r.right);
        if (r.left.kind === 'decode') logger.warn('control plane answer did not decode', { method: req.method, path: req.path, status: res.status, reason: r.left.message });
        return throwError(() => r.left);
      }),
    );

  const json = (method: 'GET' | 'POST', path: string, timeoutMs: number, body?: string, maxBodyBytes = o.maxBodyBytes): HttpRequest =>
    body === undefined ? { method, path, timeoutMs, maxBodyBytes } : { method, path, timeoutMs, maxBodyBytes, body };

  const dispatch = (waitSecs: number): Observable<DispatchAnswer> => {
    const wait = Math.max(0, Math.min(MAX_WAIT_SECS, Math.floor(Number.isFinite(waitSecs) ? waitSecs : MAX_WAIT_SECS)));
    return call(json('GET', `/v1/agent/dispatch?wait=${wait}`, wait * 1000 + o.longPollSlackMs), dispatchAnswer);
  };

  const heartbeat = (body: HeartbeatRequest, options?: { readonly timeoutMs?: number }): Observable<HeartbeatAnswer> =>
    defer(() => {
      const wire = encodeJson(HeartbeatRequestWire, {
        hostname: body.hostname,
        ...(body.rolloutId === undefined ? {} : { rollout_id: body.rolloutId }),
        ...(body.currentClosure === undefined ? {} : { current_closure: body.currentClosure }),
        at: body.at,
      });
      return call(json('POST', '/v1/agent/heartbeat', options?.timeoutMs ?? o.heartbeatTimeoutMs, wire), heartbeatAnswer);
    });

  const postEvent = (body: string): Observable<DeliveryOutcome> =>
    call(json('POST', '/v1/agent/events', o.eventTimeoutMs, body), (res) => E.right(deliveryOutcome(res))).pipe(
      catchError((e: unknown) => of<DeliveryOutcome>({ kind: 'retry', reason: cpFailureText(e) })),
    );

  const enroll = (request: EnrollRequest): Observable<IssuedCert> =>
    defer(() => call(json('POST', '/v1/enroll', o.requestTimeoutMs, encodeJson(EnrollRequest, request)), (res, now) => issuedCert(res, `enroll ${url('/v1/enroll')}`, now)));

  const renew = (csrPem: string): Observable<IssuedCert> =>
    defer(() =>
      call(json('POST', '/v1/agent/renew', o.requestTimeoutMs, encodeJson(RenewRequest, { csrPem })), (res, now) => issuedCert(res, `renew ${url('/v1/agent/renew')}`, now)),
    );

  const bytes = (path: string): Observable<Uint8Array> =>
    call(json('GET', path, o.requestTimeoutMs, undefined, o.maxArtifactBytes), (res, now) => artifactBytes(res, path, now));

  // Artifact first, then its signature, as upstream fetches them.
  const pair = (path: string): Observable<SignedArtifact> =>
    bytes(path).pipe(concatMap((artifact) => bytes(`${path}/sig`).pipe(map((signature) => ({ artifact, signature })))));

  return {
    dispatch,
    heartbeat,
    postEvent,
    enroll,
    renew,
    artifacts: { fleet: () => pair('/v1/fleet.resolved'), rollout: (id) => pair(rolloutPath(id)) },
    prepareIdentity: (material) => agents.prepare(material),
    installIdentity: (prepared) => agents.install(prepared),
    get identity() {
      return agents.material;
    },
    get identityGeneration() {
      return agents.generation;
    },
    close: () => agents.close(),
  };
}

/** The proxy for the CP's URL: tunnelled for https, forwarded for a development http CP. */
function cpProxy(baseUrl: string, settings: ProxySettings): { readonly https?: ProxyEndpoint; readonly http?: ProxyEndpoint } | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined; // every request then fails with axios's own "Invalid URL"
  }
  const proxy = proxyFor(settings, url);
  if (proxy === undefined) return undefined;
  return url.protocol === 'https:' ? { https: proxy } : { http: proxy };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

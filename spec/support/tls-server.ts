// A loopback HTTPS server with mTLS for integration specs, shaped like the
// upstream CP's pipeline (reference wire-protocol.md §2): client certificates
// optional at the TLS layer (so /v1/enroll works without one) unless
// `requireClientCert`, then per route: protocol-version check (426 on another
// major, 400 on garbage) and an mTLS guard (401 without a verified cert).
// Handlers may hold a request (long-poll) and see when the client goes away.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as tls from 'node:tls';
import type { KeyedCert, TestCa } from './pki';

export interface PeerCert {
  readonly cn: string;
  /** Uppercase hex as node reports it. */
  readonly serial: string;
  readonly fingerprint256: string;
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly url: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The verified client certificate, when one was presented and chains to the CA. */
  readonly peer: PeerCert | undefined;
  json(): unknown;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Objects are sent as JSON; strings and buffers as is. */
  readonly body?: unknown;
  /** Close the connection without an answer (the client sees a transport error). */
  readonly hangUp?: boolean;
}

export interface HandlerContext {
  /** Resolves when the client disconnects before the reply is sent (an aborted long-poll). */
  readonly aborted: Promise<void>;
}

export type Handler = (req: SeenRequest, ctx: HandlerContext) => Reply | Promise<Reply>;

export interface RouteOptions {
  /** `mtls` (default): 401 without a verified client certificate; `none`: open (enroll). */
  readonly auth?: 'mtls' | 'none';
}

export interface TlsTestServer {
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  /** Set (or replace) the handler for `METHOD path` (path without query). */
  route(method: string, path: string, handler: Handler, options?: RouteOptions): void;
  /** Resolves with the request once `count` requests matched `path` in total. */
  nextRequest(path: string, count?: number): Promise<SeenRequest>;
  /** Number of client disconnects seen before a reply was sent. */
  readonly abortedCount: number;
  close(): Promise<void>;
}

export interface TlsServerOptions {
  /** Client certificates must chain to this CA. */
  readonly clientCa: TestCa;
  readonly server: KeyedCert;
  /** Refuse the TLS handshake without a valid client certificate. Default false (upstream). */
  readonly requireClientCert?: boolean;
  /** 400 when the protocol header is absent (upstream `--strict`). Default false. */
  readonly strictVersion?: boolean;
}

const json = (status: number, body: unknown): Reply => ({ status, body });

function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let body: Buffer;
  if (reply.body === undefined) body = Buffer.alloc(0);
  else if (Buffer.isBuffer(reply.body)) body = reply.body;
  else if (typeof reply.body === 'string') body = Buffer.from(reply.body, 'utf8');
  else {
    body = Buffer.from(JSON.stringify(reply.body), 'utf8');
    headers['content-type'] ??= 'application/json';
  }
  res.writeHead(reply.status, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

export async function startTlsServer(options: TlsServerOptions): Promise<TlsTestServer> {
  const routes = new Map<string, { handler: Handler; auth: 'mtls' | 'none' }>();
  const requests: SeenRequest[] = [];
  const waiters: { path: string; count: number; resolve: (r: SeenRequest) => void }[] = [];
  let abortedCount = 0;

  const server = https.createServer(
    {
      key: options.server.keyPem,
      cert: options.server.certPem,
      ca: options.clientCa.certPem,
      requestCert: true,
      rejectUnauthorized: options.requireClientCert ?? false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socket = req.socket as tls.TLSSocket;
        const raw = socket.getPeerCertificate();
        const peer: PeerCert | undefined =
          socket.authorized && raw !== null && typeof raw === 'object' && 'subject' in raw && raw.subject !== undefined
            ? { cn: String(raw.subject.CN ?? ''), serial: String(raw.serialNumber ?? ''), fingerprint256: String(raw.fingerprint256 ?? '') }
            : undefined;
        const url = new URL(req.url ?? '/', 'https://127.0.0.1');
        const body = Buffer.concat(chunks);
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          url: req.url ?? '/',
          query: url.searchParams,
          headers: req.headers,
          body,
          peer,
          json: () => JSON.parse(body.toString('utf8')) as unknown,
        };
        requests.push(seen);
        const matching = requests.filter((r) => r.path === seen.path).length;
        for (const w of [...waiters]) {
          if (w.path === seen.path && matching >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(seen);
          }
        }

        let replied = false;
        const aborted = new Promise<void>((resolve) =>
          res.on('close', () => {
            if (!replied) {
              abortedCount += 1;
              resolve();
            }
          }),
        );
        const reply = (r: Reply): void => {
          if (replied || res.destroyed) return;
          replied = true;
          if (r.hangUp === true) res.socket?.destroy();
          else send(res, r);
        };

        // Upstream layer order: version check, then mTLS identity, then the handler.
        const version = req.headers['x-nixfleet-protocol'];
        if (typeof version === 'string') {
          if (!/^\d+$/.test(version.trim())) return reply(json(400, { error: 'invalid protocol version header' }));
          if (Number(version) !== 1) return reply(json(426, { error: `protocol version ${version} not supported; server speaks 1` }));
        } else if (options.strictVersion === true) return reply(json(400, { error: 'missing protocol version header' }));
        const route = routes.get(`${seen.method} ${seen.path}`);
        if (route === undefined) return reply(json(404, { error: 'not found' }));
        if (route.auth === 'mtls' && peer === undefined) return reply({ status: 401, body: '' });
        Promise.resolve()
          .then(() => route.handler(seen, { aborted }))
          .then(reply, (e: unknown) => reply(json(500, { error: String(e) })));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    route(method, path, handler, routeOptions) {
      routes.set(`${method} ${path}`, { handler, auth: routeOptions?.auth ?? 'mtls' });
    },
    nextRequest(path, count) {
      const already = requests.filter((r) => r.path === path);
      const target = count ?? already.length + 1;
      const hit = already[target - 1];
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ path, count: target, resolve }));
    },
    get abortedCount() {
      return abortedCount;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

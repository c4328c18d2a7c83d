// The dev CP's HTTPS listener: node:https on loopback, TLS 1.2+, client
// certificates requested but optional at the TLS layer (so /v1/enroll works
// without one, reference wire-protocol.md §2), verified against the fleet CA
// and handed to the routes as the peer's CN. Bodies are read up to a cap
// (413 beyond it); a handler may hold a request (long-poll) and learns when
// the client goes away. Routing and authorisation live in routes.ts.
import type * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as tls from 'node:tls';

export interface Peer {
  /** Subject CN of a client certificate that chains to the fleet CA. */
  readonly cn: string;
  readonly serial: string;
}

export interface Request {
  readonly method: string;
  /** Decoded path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Uint8Array;
  /** Undefined without a verified client certificate. */
  readonly peer: Peer | undefined;
  /** Called once if the client disconnects before the reply is sent. */
  onAbort(listener: () => void): void;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Bytes and strings are sent as is; anything else as JSON. Absent: empty body. */
  readonly body?: unknown;
}

export type Handler = (req: Request) => Reply | Promise<Reply>;

export interface ListenOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  /** Client certificates must chain to this CA. */
  readonly clientCaPem: string;
  readonly maxBodyBytes: number;
  /** Cap on open connections (the listener refuses more). */
  readonly maxConnections: number;
  readonly handler: Handler;
  /** A handler threw: the reply is a 500 and this hears why. */
  readonly onError: (error: unknown) => void;
}

export interface Listener {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

function bodyOf(reply: Reply): { bytes: Uint8Array; contentType?: string } {
  if (reply.body === undefined) return { bytes: new Uint8Array(0) };
  if (reply.body instanceof Uint8Array) return { bytes: reply.body };
  if (typeof reply.body === 'string') return { bytes: encoder.encode(reply.body), contentType: 'text/plain; charset=utf-8' };
  return { bytes: encoder.encode(JSON.stringify(reply.body)), contentType: 'application/json' };
}

function send(res: http.ServerResponse, reply: Reply): void {
  const { bytes, contentType } = bodyOf(reply);
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  for (const [k, v] of Object.entries(reply.headers ?? {})) headers[k.toLowerCase()] = v;
  if (reply.status !== 204 && reply.status !== 304) headers['content-length'] = String(bytes.length);
  res.writeHead(reply.status, headers);
  res.end(reply.status === 204 || reply.status === 304 ? undefined : Buffer.from(bytes));
}

function peerOf(req: http.IncomingMessage): Peer | undefined {
  const socket = req.socket as tls.TLSSocket;
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || cert.subject === undefined) return undefined;
  const raw: unknown = cert.subject.CN;
  const cn = Array.isArray(raw) ? raw[0] : raw;
  if (typeof cn !== 'string' || cn === '') return undefined;
  return { cn, serial: String(cert.serialNumber ?? '') };
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const server = https.createServer(
    {
      key: options.serverKeyPem,
      cert: options.serverCertPem,
      ca: options.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      let replied = false;
      const abortListeners: (() => void)[] = [];
      res.on('close', () => {
        if (replied) return;
        replied = true;
        for (const l of abortListeners.splice(0)) l();
      });
      const reply = (r: Reply): void => {
        if (replied || res.destroyed) return;
        replied = true;
        abortListeners.length = 0;
        send(res, r);
      };

      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (c: Buffer) => {
        if (tooLarge) return;
        size += c.length;
        if (size > options.maxBodyBytes) {
          // Answer, stop reading, and drop the connection once the answer is out.
          tooLarge = true;
          chunks.length = 0;
          req.pause();
          res.once('finish', () => req.socket.destroy());
          reply({ status: 413, headers: { connection: 'close' }, body: `body larger than ${options.maxBodyBytes} bytes` });
          return;
        }
        chunks.push(c);
      });
      req.on('error', () => undefined);
      req.on('end', () => {
        if (tooLarge) return;
        let url: URL;
        try {
          url = new URL(req.url ?? '/', 'https://127.0.0.1');
        } catch {
          return reply({ status: 400, body: 'bad request target' });
        }
        let path: string;
        try {
          path = decodeURIComponent(url.pathname);
        } catch {
          return reply({ status: 400, body: 'bad percent-encoding in path' });
        }
        const request: Request = {
          method: req.method ?? 'GET',
          path,
          query: url.searchParams,
          headers: req.headers,
          body: new Uint8Array(Buffer.concat(chunks)),
          peer: peerOf(req),
          onAbort: (l) => void abortListeners.push(l),
        };
        Promise.resolve()
          .then(() => options.handler(request))
          .then(reply, (e: unknown) => {
            options.onError(e);
            reply({ status: 500, body: 'internal error' });
          });
      });
    },
  );
  server.maxConnections = options.maxConnections;
  // Long-polls hold a request for up to 60 s; keep Node's defaults above that.
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// A real HTTP proxy on 127.0.0.1 for the proxy specs: CONNECT tunnels (what
// an agent uses for https) and absolute-form forwarding (plain http), each
// counted, optionally behind Basic credentials (407 otherwise), optionally
// refusing every CONNECT with a given status. Not the TCP fault proxy of
// spec/faults/proxy.ts, which sits in place of the CP's address instead.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';

export interface ConnectProxyOptions {
  /** `user:password` the proxy requires (Proxy-Authorization: Basic). */
  readonly credentials?: string;
  /** Answer every CONNECT with this status instead of tunnelling (e.g. 502, 403). */
  readonly refuseWith?: number;
  /** Listen on this port (to come back on the same address after close). */
  readonly port?: number;
}

export interface SeenTunnel {
  /** `host:port` the client asked for. */
  readonly target: string;
  readonly authorization: string | undefined;
  /** The status the proxy answered. */
  readonly status: number;
}

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly tunnels: SeenTunnel[];
  /** Absolute-form requests forwarded (plain http through the proxy). */
  readonly forwarded: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const tunnels: SeenTunnel[] = [];
  const forwarded: string[] = [];
  const open = new Set<net.Socket>();
  const expected = options.credentials === undefined ? undefined : `Basic ${Buffer.from(options.credentials).toString('base64')}`;
  const authorized = (header: string | undefined): boolean => expected === undefined || header === expected;

  const server = http.createServer((req, res) => {
    const authorization = req.headers['proxy-authorization'];
    if (!authorized(authorization)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="spec"' }).end();
      return;
    }
    forwarded.push(req.url ?? '');
    const target = new URL(req.url ?? '/');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    const target = req.url ?? '';
    const authorization = req.headers['proxy-authorization'];
    const answer = (status: number, text: string): void => {
      tunnels.push({ target, authorization, status });
      client.end(`HTTP/1.1 ${status} ${text}\r\n${status === 407 ? 'Proxy-Authenticate: Basic realm="spec"\r\n' : ''}Content-Length: 0\r\n\r\n`);
    };
    if (!authorized(authorization)) return answer(407, 'Proxy Authentication Required');
    if (options.refuseWith !== undefined) return answer(options.refuseWith, 'Refused');
    const [host = '', port = ''] = target.startsWith('[') ? [target.slice(1, target.indexOf(']')), target.slice(target.indexOf(']') + 2)] : target.split(':');
    const upstream = net.connect({ host, port: Number(port) });
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      tunnels.push({ target, authorization, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (connected) client.destroy();
      else answer(502, 'Bad Gateway');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

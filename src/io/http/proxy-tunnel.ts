// HTTPS through an HTTP proxy: a TCP connection to the proxy, `CONNECT
// host:port`, and once it answers 200, TLS to the target inside the tunnel
// with the agent's own options (CA, client certificate, server-name check
// against the target, not the proxy). The proxy sees only the target's name
// and ciphertext. A proxy that refuses (407, 403, 502…), is unreachable or
// hangs up fails with a ProxyError naming it, never a TLS error.
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { ProxyEndpoint } from './proxy-env';

/** The proxy, not the server behind it, failed. */
export class ProxyError extends Error {
  readonly code = 'EPROXY';
  constructor(
    readonly proxy: ProxyEndpoint,
    reason: string,
  ) {
    super(`proxy ${proxy.display} (${proxy.variable}): ${reason}`);
    this.name = 'ProxyError';
  }
}

/** A proxy's answer to CONNECT is a status line and headers; more than this is not one. */
const MAX_CONNECT_ANSWER_BYTES = 16 * 1024;

const authority = (host: string, port: number): string => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * Opens the tunnel and starts TLS in it; `callback` gets the TLS socket (its
 * handshake still to come) or a ProxyError. `onSocket` sees each socket as it
 * is made, so a connect timer can destroy whichever is current.
 */
export function connectThroughProxy(
  proxy: ProxyEndpoint,
  options: tls.ConnectionOptions & { readonly host?: string | null; readonly port?: number | string | null },
  callback: (err: Error | null, stream: Duplex) => void,
  onSocket: (socket: net.Socket) => void = () => undefined,
): void {
  const host = options.host ?? 'localhost';
  const port = Number(options.port ?? 443);
  const target = authority(host, port);
  const raw = net.connect({ host: proxy.host, port: proxy.port });
  onSocket(raw);
  let settled = false;
  let answer = Buffer.alloc(0);
  const fail = (reason: string): void => {
    if (settled) return;
    settled = true;
    raw.destroy();
    callback(new ProxyError(proxy, reason), raw);
  };
  const onError = (err: NodeJS.ErrnoException): void => fail(`${err.code ?? 'error'}: ${err.message}`);
  const onClose = (): void => fail(`closed the connection before answering CONNECT ${target}`);
  const onData = (chunk: Buffer): void => {
    answer = Buffer.concat([answer, chunk]);
    const end = answer.indexOf('\r\n\r\n');
    if (end < 0) {
      if (answer.length > MAX_CONNECT_ANSWER_BYTES) fail(`answer to CONNECT ${target} exceeds ${MAX_CONNECT_ANSWER_BYTES} bytes without ending its headers`);
      return;
    }
    const statusLine = answer.subarray(0, answer.indexOf('\r\n')).toString('latin1');
    const status = /^HTTP\/1\.[01] (\d{3})\b/.exec(statusLine)?.[1];
    // reqwest takes 200 alone as an open tunnel.
    if (status !== '200') {
      fail(`CONNECT ${target} refused: ${JSON.stringify(statusLine.slice(0, 200))}${status === '407' ? ' (proxy authentication required: credentials go in the proxy URL, http://user:password@host:port)' : ''}`);
      return;
    }
    // The client speaks first in TLS: a proxy that sends more is not a tunnel.
    if (answer.length > end + 4) {
      fail(`sent data after its answer to CONNECT ${target}`);
      return;
    }
    settled = true;
    raw.off('data', onData);
    raw.off('error', onError);
    raw.off('close', onClose);
    const secure = tls.connect({ ...options, socket: raw });
    onSocket(secure);
    callback(null, secure);
  };
  raw.on('error', onError);
  raw.on('close', onClose);
  raw.on('data', onData);
  raw.once('connect', () => {
    const auth = proxy.authorization === undefined ? '' : `Proxy-Authorization: ${proxy.authorization}\r\n`;
    raw.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
  });
}

/**
 * An https.Agent whose connections go through `proxy` when one is set. Sockets
 * still opening when the agent is destroyed are destroyed with it.
 */
export class TunnelingAgent extends https.Agent {
  private readonly opening = new Set<net.Socket>();

  constructor(
    options: https.AgentOptions,
    readonly proxy: ProxyEndpoint | undefined,
  ) {
    super(options);
  }

  /** For subclasses: an observer of one connection's sockets as they are made (the proxy's TCP socket, then TLS). */
  protected watchConnection(): (socket: net.Socket) => void {
    return () => undefined;
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const watch = this.watchConnection();
    if (this.proxy === undefined) {
      const socket = super.createConnection(options, callback);
      if (socket instanceof net.Socket) watch(socket);
      return socket;
    }
    const done = callback ?? (() => undefined);
    const mine: net.Socket[] = [];
    connectThroughProxy(
      this.proxy,
      options as tls.ConnectionOptions & { host?: string | null; port?: number | string | null },
      (err, stream) => {
        // From here the agent holds the TLS socket (or nothing, on an error).
        for (const socket of mine) this.opening.delete(socket);
        done(err, stream);
      },
      (socket) => {
        mine.push(socket);
        this.opening.add(socket);
        watch(socket);
      },
    );
    return undefined;
  }

  override destroy(): void {
    for (const socket of this.opening) socket.destroy();
    this.opening.clear();
    super.destroy();
  }
}

// A loopback TCP proxy between the agent and the CP that misbehaves on
// command: latency, connection resets, truncated responses, blackholes.
// TLS passes through untouched (it is a byte pipe), so the agent's mTLS
// session is real; truncation cuts the encrypted stream mid-record.
import * as net from 'net';

export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'latency'; readonly ms: number }
  /** Accept, then reset every connection at once. */
  | { readonly kind: 'reset' }
  /** Forward the request, then cut the response after `bytes` bytes. */
  | { readonly kind: 'truncate'; readonly bytes: number }
  /** Accept and never answer (a dead link): bytes go nowhere. */
  | { readonly kind: 'blackhole' };

export interface FaultProxy {
  readonly port: number;
  mode: FaultMode;
  /** Connections seen since start. */
  readonly connections: () => number;
  /** Reset every open connection now. */
  resetAll(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }, listenPort = 0): Promise<FaultProxy> {
  const open = new Set<net.Socket>();
  let count = 0;
  const state: { mode: FaultMode } = { mode: { kind: 'pass' } };
  const track = (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    count += 1;
    track(client);
    const mode = state.mode;
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'blackhole') {
      client.on('data', () => {});
      return;
    }
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    const delay = mode.kind === 'latency' ? mode.ms : 0;
    const later = (f: () => void) => (delay > 0 ? setTimeout(f, delay) : f());
    client.on('data', (chunk) => later(() => upstream.write(chunk)));
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      if (mode.kind === 'truncate') {
        const room = mode.bytes - sent;
        if (room <= 0) return;
        const part = chunk.subarray(0, room);
        sent += part.length;
        later(() => client.write(part));
        if (sent >= mode.bytes) later(() => client.resetAndDestroy());
        return;
      }
      later(() => client.write(chunk));
    });
    client.on('end', () => later(() => upstream.end()));
    upstream.on('end', () => later(() => client.end()));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => later(() => client.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  return {
    port: addr.port,
    get mode() {
      return state.mode;
    },
    set mode(m: FaultMode) {
      state.mode = m;
    },
    connections: () => count,
    resetAll: () => open.forEach((s) => s.resetAndDestroy()),
    close: () =>
      new Promise<void>((resolve) => {
        open.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

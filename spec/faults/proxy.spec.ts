// The fault proxy itself does what it says, against a plain TCP echo server.
import * as net from 'net';
import { startFaultProxy, type FaultProxy } from './proxy';

function echoServer(): Promise<net.Server> {
  const s = net.createServer((c) => c.on('data', (d) => c.write(Buffer.concat([Buffer.from('echo:'), d]))));
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

function exchange(port: number, payload: string, waitMs = 300): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (error?: string) => {
      c.destroy();
      resolve(error === undefined ? { data } : { data, error });
    };
    c.on('data', (d) => (data += d.toString()));
    c.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    c.on('connect', () => c.write(payload));
    setTimeout(() => done(), waitMs);
  });
}

describe('fault proxy', () => {
  let echo: net.Server;
  let proxy: FaultProxy;
  beforeEach(async () => {
    echo = await echoServer();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  });
  afterEach(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  it('passes bytes through', async () => {
    expect(await exchange(proxy.port, 'hello')).toEqual({ data: 'echo:hello' });
  });
  it('resets connections', async () => {
    proxy.mode = { kind: 'reset' };
    expect((await exchange(proxy.port, 'hello')).error).toBe('ECONNRESET');
  });
  it('truncates responses', async () => {
    proxy.mode = { kind: 'truncate', bytes: 4 };
    const r = await exchange(proxy.port, 'hello');
    expect(r.data).toBe('echo');
  });
  it('blackholes', async () => {
    proxy.mode = { kind: 'blackhole' };
    expect(await exchange(proxy.port, 'hello')).toEqual({ data: '' });
  });
  it('adds latency', async () => {
    proxy.mode = { kind: 'latency', ms: 100 };
    const start = performance.now();
    const r = await exchange(proxy.port, 'hello', 1000);
    expect(r.data).toBe('echo:hello');
    expect(performance.now() - start).toBeGreaterThanOrEqual(190);
  });
});

// The CP client through a real CONNECT proxy on loopback: mTLS end to end
// inside the tunnel (the server sees the agent's certificate, and its own is
// still checked against the CA), credentials, NO_PROXY, and the proxy's own
// failures named as such, with recovery once it is back.
import * as net from 'node:net';
import { firstValueFrom } from 'rxjs';
import { proxySettingsFromEnv, type ProxyEnv } from '../../../src/io/http/proxy-env';
import { startConnectProxy } from '../../support/connect-proxy';
import { createCa, issueServerCert } from '../../support/pki';
import { startTlsServer } from '../../support/tls-server';
import { beat, client, failure, pki, server, type Pki } from './support';

const proxied = (env: ProxyEnv) => ({ proxy: proxySettingsFromEnv(env) });

describe('the CP client through an HTTP proxy', () => {
  let p: Pki;
  beforeAll(async () => {
    p = await pki();
  });

  it('tunnels with CONNECT; the CP sees the client certificate inside the tunnel', async () => {
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
    const proxy = await startConnectProxy();
    const c = client(p, srv, proxied({ HTTPS_PROXY: proxy.url }));
    await firstValueFrom(c.heartbeat(beat));
    expect(await firstValueFrom(c.dispatch(0))).toEqual({ kind: 'none' });
    expect(srv.requests.map((r) => [r.path, r.peer?.cn])).toEqual([
      ['/v1/agent/heartbeat', 'web-01'],
      ['/v1/agent/dispatch', 'web-01'],
    ]);
    // One tunnel per request (keepAlive off), to the CP's address, no credentials.
    expect(proxy.tunnels).toEqual([
      { target: `127.0.0.1:${srv.port}`, authorization: undefined, status: 200 },
      { target: `127.0.0.1:${srv.port}`, authorization: undefined, status: 200 },
    ]);
    c.close();
    await proxy.close();
    await srv.close();
  });

  it('still verifies the CP against the CA inside the tunnel', async () => {
    const rogue = await startTlsServer({ clientCa: p.ca, server: await issueServerCert(await createCa('rogue CA')) });
    rogue.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const proxy = await startConnectProxy();
    const c = client(p, rogue, proxied({ HTTPS_PROXY: proxy.url }));
    const e = await failure(firstValueFrom(c.heartbeat(beat)));
    expect(e).toMatchObject({ kind: 'transport', untrusted: true });
    expect(proxy.tunnels).toHaveLength(1);
    expect(rogue.requests).toHaveLength(0);
    c.close();
    await proxy.close();
    await rogue.close();
  });

  it('sends the proxy URL credentials as Proxy-Authorization: Basic; without them the 407 is a proxy error, not a TLS one', async () => {
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const proxy = await startConnectProxy({ credentials: 'agent:s3cret' });
    const good = client(p, srv, proxied({ https_proxy: `http://agent:s3cret@127.0.0.1:${proxy.port}` }));
    await firstValueFrom(good.heartbeat(beat));
    expect(proxy.tunnels[0]).toEqual({ target: `127.0.0.1:${srv.port}`, authorization: `Basic ${Buffer.from('agent:s3cret').toString('base64')}`, status: 200 });

    const anon = client(p, srv, proxied({ HTTPS_PROXY: proxy.url }));
    const e = await failure(firstValueFrom(anon.heartbeat(beat)));
    expect(e.kind).toBe('transport');
    expect(e).not.toHaveProperty('untrusted');
    expect(e.message).toBe(
      `POST /v1/agent/heartbeat: proxy ${proxy.url} (HTTPS_PROXY): CONNECT 127.0.0.1:${srv.port} refused: "HTTP/1.1 407 Proxy Authentication Required"` +
        ' (proxy authentication required: credentials go in the proxy URL, http://user:password@host:port)',
    );
    expect(srv.requests).toHaveLength(1);
    good.close();
    anon.close();
    await proxy.close();
    await srv.close();
  });

  it('a proxy that refuses the tunnel (502) fails naming the proxy and its answer', async () => {
    const srv = await server(p);
    const proxy = await startConnectProxy({ refuseWith: 502 });
    const c = client(p, srv, proxied({ ALL_PROXY: proxy.url }));
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e).toEqual({ kind: 'transport', message: `GET /v1/agent/dispatch?wait=0: proxy ${proxy.url} (ALL_PROXY): CONNECT 127.0.0.1:${srv.port} refused: "HTTP/1.1 502 Refused"` });
    c.close();
    await proxy.close();
    await srv.close();
  });

  it('a proxy that is down fails naming it; the next request goes through once it is back', async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
    const first = await startConnectProxy();
    const port = first.port;
    await first.close();
    const c = client(p, srv, proxied({ HTTPS_PROXY: `http://127.0.0.1:${port}` }));
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e.kind).toBe('transport');
    expect(e.message).toMatch(new RegExp(`^GET /v1/agent/dispatch\\?wait=0: proxy http://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\): ECONNREFUSED: `));
    expect(srv.requests).toHaveLength(0);

    const back = await startConnectProxy({ port });
    expect(await firstValueFrom(c.dispatch(0))).toEqual({ kind: 'none' });
    expect(back.tunnels).toHaveLength(1);
    expect(srv.requests[0]?.peer?.cn).toBe('web-01');
    c.close();
    await back.close();
    await srv.close();
  });

  it('a proxy that accepts and never answers CONNECT is given up after the connect timeout, named', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const srv = await server(p);
    const c = client(p, srv, { connectTimeoutMs: 100, ...proxied({ HTTPS_PROXY: `127.0.0.1:${port}` }) });
    const e = await failure(firstValueFrom(c.dispatch(60)));
    expect(e).toEqual({ kind: 'transport', message: `GET /v1/agent/dispatch?wait=60: proxy http://127.0.0.1:${port} (HTTPS_PROXY): ETIMEDOUT: connect timeout after 100 ms` });
    c.close();
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
    await srv.close();
  });

  it('NO_PROXY bypasses the proxy for a listed host (loopback included only when listed)', async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
    const proxy = await startConnectProxy();
    const direct = client(p, srv, proxied({ HTTPS_PROXY: proxy.url, NO_PROXY: 'cp.example, 127.0.0.0/8' }));
    expect(await firstValueFrom(direct.dispatch(0))).toEqual({ kind: 'none' });
    expect(proxy.tunnels).toHaveLength(0);
    const other = client(p, srv, proxied({ HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost' }));
    expect(await firstValueFrom(other.dispatch(0))).toEqual({ kind: 'none' });
    expect(proxy.tunnels).toHaveLength(1);
    direct.close();
    other.close();
    await proxy.close();
    await srv.close();
  });

  it('reads the process environment when no settings are given (as upstream does)', async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
    const proxy = await startConnectProxy();
    const saved = process.env['HTTPS_PROXY'];
    process.env['HTTPS_PROXY'] = proxy.url;
    try {
      const c = client(p, srv);
      expect(await firstValueFrom(c.dispatch(0))).toEqual({ kind: 'none' });
      c.close();
    } finally {
      if (saved === undefined) delete process.env['HTTPS_PROXY'];
      else process.env['HTTPS_PROXY'] = saved;
    }
    expect(proxy.tunnels).toHaveLength(1);
    await proxy.close();
    await srv.close();
  });
});

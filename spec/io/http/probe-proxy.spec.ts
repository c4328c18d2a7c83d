// HTTP probes honour the proxy variables as upstream's probe client does
// (reqwest): http forwarded in absolute form, https tunnelled with CONNECT
// (the probe's own TLS options still apply inside), NO_PROXY for the host's
// own services, and a proxy's failure named in the probe's reason.
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { proxySettingsFromEnv, type ProxyEnv } from '../../../src/io/http/proxy-env';
import { startConnectProxy, type ConnectProxy } from '../../support/connect-proxy';
import { declare, httpServer, httpsServer, runOnce, selfSigned, tempDir, type Loopback } from '../probes/support';

describe('http probes through a proxy', () => {
  let plain: Loopback<http.Server>;
  let secure: Loopback<http.Server>;
  let proxy: ConnectProxy;
  let dir: string;
  beforeAll(async () => {
    plain = await httpServer((_req, res) => res.writeHead(200).end('plain ok'));
    const tls = await selfSigned();
    secure = (await httpsServer(tls, (_req, res) => res.writeHead(200).end('secure ok'))) as unknown as Loopback<http.Server>;
    dir = tempDir();
    fs.writeFileSync(path.join(dir, 'ca.pem'), tls.certPem);
    proxy = await startConnectProxy({ credentials: 'probe:pw' });
  });
  afterAll(async () => {
    await proxy.close();
    await plain.close();
    await secure.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.tunnels.length = 0;
    proxy.forwarded.length = 0;
  });

  const withEnv = (env: ProxyEnv) => ({ proxy: proxySettingsFromEnv(env) });
  const authed = () => `http://probe:pw@127.0.0.1:${proxy.port}`;

  it('an http probe goes to HTTP_PROXY in absolute form, with the credentials', async () => {
    const url = `http://127.0.0.1:${plain.port}/health`;
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url, bodyContains: 'plain ok' }), withEnv({ HTTP_PROXY: authed() }))).toEqual({ status: 'pass' });
    expect(proxy.forwarded).toEqual([url]);
  });

  it('an https probe tunnels through HTTPS_PROXY; its declared CA is still what verifies the server', async () => {
    const url = `https://127.0.0.1:${secure.port}/health`;
    const probe = (extra: Record<string, unknown>) => declare({ kind: 'http', mode: 'enforce', url, bodyContains: 'secure ok', ...extra });
    expect(await runOnce(probe({ tlsCaFile: path.join(dir, 'ca.pem') }), withEnv({ HTTPS_PROXY: authed() }))).toEqual({ status: 'pass' });
    expect(proxy.tunnels.map((t) => [t.target, t.status])).toEqual([[`127.0.0.1:${secure.port}`, 200]]);
    // Without the CA, the self-signed server is refused inside the tunnel too.
    const r = await runOnce(probe({}), withEnv({ HTTPS_PROXY: authed() }));
    expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(/^http probe: send: .*(self.signed|certificate)/i) });
    expect(proxy.tunnels).toHaveLength(2);
  });

  it('NO_PROXY keeps a probe of the host itself direct', async () => {
    const url = `http://127.0.0.1:${plain.port}/health`;
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url }), withEnv({ ALL_PROXY: authed(), NO_PROXY: '127.0.0.1,localhost' }))).toEqual({ status: 'pass' });
    expect(proxy.forwarded).toEqual([]);
    expect(proxy.tunnels).toEqual([]);
  });

  it("the proxy's refusal fails the probe naming the proxy", async () => {
    const url = `https://127.0.0.1:${secure.port}/health`;
    const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url, tlsSkipVerify: true }), withEnv({ HTTPS_PROXY: proxy.url }));
    expect(r).toEqual({
      status: 'fail',
      failureReason: expect.stringMatching(new RegExp(`^http probe: send: proxy ${proxy.url} \\(HTTPS_PROXY\\): CONNECT 127\\.0\\.0\\.1:${secure.port} refused: "HTTP/1\\.1 407`)),
    });
  });

  it('without proxy variables nothing changes: probes go direct', async () => {
    const url = `http://127.0.0.1:${plain.port}/health`;
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url }), withEnv({}))).toEqual({ status: 'pass' });
    expect(proxy.forwarded).toEqual([]);
  });
});

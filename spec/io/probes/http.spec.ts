// The http runner against real loopback servers (127.0.0.1, port 0).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { createProbeAdapter } from '../../../src/io/probes';
import { MAX_REDIRECTS } from '../../../src/io/probes/http';
import { declare, httpServer, httpsServer, runOnce, selfSigned, tempDir, type Loopback, type SelfSigned } from './support';
import type * as http from 'node:http';

describe('http probe', () => {
  let srv: Loopback<http.Server>;
  let status = 200;
  let body = 'ok: all good';
  let hang = false;
  let aborted = 0;
  let other: Loopback<http.Server>; // another origin: same host, another port

  beforeAll(async () => {
    srv = await httpServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/health' }).end();
        return;
      }
      if (req.url?.startsWith('/hop/') === true) {
        // /hop/N redirects to /hop/N-1 on the same origin; /hop/0 answers.
        const n = Number(req.url.slice('/hop/'.length));
        if (n > 0) res.writeHead(307, { location: `/hop/${n - 1}` }).end();
        else res.writeHead(200).end('arrived');
        return;
      }
      if (req.url === '/elsewhere') {
        res.writeHead(302, { location: `http://127.0.0.1:${other.port}/admin/delete?x=1` }).end();
        return;
      }
      if (req.url === '/no-location') {
        res.writeHead(302).end();
        return;
      }
      if (hang) {
        res.on('close', () => aborted++);
        return; // never answers
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  afterAll(() => srv.close());
  beforeEach(() => {
    status = 200;
    body = 'ok: all good';
    hang = false;
  });

  const url = (p = '/health') => `http://127.0.0.1:${srv.port}${p}`;

  it('passes on the expected status', async () => {
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url() }))).toEqual({ status: 'pass' });
  });

  it('fails on another status, naming both', async () => {
    status = 503;
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url() }))).toEqual({ status: 'fail', failureReason: 'http probe: status 503 != expected 200' });
  });

  it('honours expectStatus', async () => {
    status = 204;
    body = '';
    expect((await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(), expectStatus: 204 }))).status).toBe('pass');
  });

  it('follows redirects within the probed origin', async () => {
    expect((await runOnce(declare({ kind: 'http', mode: 'enforce', url: url('/redirect') }))).status).toBe('pass');
  });

  describe('redirect policy', () => {
    const hits: string[] = [];
    beforeAll(async () => {
      other = await httpServer((req, res) => {
        hits.push(req.url ?? '');
        res.writeHead(200).end('deleted');
      });
    });
    afterAll(() => other.close());
    beforeEach(() => {
      hits.length = 0;
    });

    it('a 302 to another port is not fetched, and the probe fails naming both origins', async () => {
      const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url: url('/elsewhere') }));
      expect(r).toEqual({
        status: 'fail',
        failureReason: `http probe: redirect (302) to another origin not followed: http://127.0.0.1:${srv.port} -> http://127.0.0.1:${other.port}`,
      });
      expect(hits).toEqual([]);
    });

    it('the other server is reachable when probed directly (so the refusal above is the policy, not the network)', async () => {
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: `http://127.0.0.1:${other.port}/` }))).toEqual({ status: 'pass' });
      expect(hits).toEqual(['/']);
    });

    it(`follows at most ${MAX_REDIRECTS} same-origin hops`, async () => {
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(`/hop/${MAX_REDIRECTS}`), bodyContains: 'arrived' }))).toEqual({ status: 'pass' });
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(`/hop/${MAX_REDIRECTS + 1}`) }))).toEqual({
        status: 'fail',
        failureReason: `http probe: more than ${MAX_REDIRECTS} redirects`,
      });
    });

    it('a 3xx without a Location is the final answer', async () => {
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url('/no-location'), expectStatus: 302 }))).toEqual({ status: 'pass' });
    });
  });

  it('matches bodyContains when declared', async () => {
    expect((await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(), bodyContains: 'all good' }))).status).toBe('pass');
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(), bodyContains: 'degraded' }))).toEqual({
      status: 'fail',
      failureReason: expect.stringMatching(/^http probe: body does not contain "degraded"/),
    });
  });

  it('searches only the configured body prefix', async () => {
    body = `${'x'.repeat(4096)}needle`;
    const probe = declare({ kind: 'http', mode: 'enforce', url: url(), bodyContains: 'needle' });
    expect((await runOnce(probe, { maxHttpBodyBytes: 1024 })).status).toBe('fail');
    expect((await runOnce(probe)).status).toBe('pass');
  });

  it('fails past its timeout on a server that never answers, and drops the connection', async () => {
    hang = true;
    const started = Date.now();
    const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url: url(), timeoutSecs: 1 }));
    expect(r).toEqual({ status: 'fail', failureReason: 'http probe: timed out after 1s' });
    expect(Date.now() - started).toBeLessThan(5000);
    for (let i = 0; i < 100 && aborted === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(aborted).toBe(1);
  });

  it('fails on a refused connection', async () => {
    const closed = await httpServer(() => undefined);
    const port = closed.port;
    await closed.close();
    const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url: `http://127.0.0.1:${port}/` }));
    expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(/^http probe: send: .*ECONNREFUSED/) });
  });

  it('fails without a url', async () => {
    expect(await runOnce(declare({ kind: 'http', mode: 'enforce' }))).toEqual({ status: 'fail', failureReason: 'http probe: url missing' });
  });

  it('flaps with its target: pass, fail, pass, fail', async () => {
    const port = createProbeAdapter();
    const probe = declare({ kind: 'http', mode: 'enforce', url: url() });
    const seen: string[] = [];
    for (const s of [200, 500, 200, 502]) {
      status = s;
      seen.push((await firstValueFrom(port.run(probe))).status);
    }
    expect(seen).toEqual(['pass', 'fail', 'pass', 'fail']);
  });

  describe('TLS options', () => {
    let tls: SelfSigned;
    let secure: Loopback<http.Server>;
    let dir: string;
    beforeAll(async () => {
      tls = await selfSigned();
      secure = (await httpsServer(tls, (_req, res) => res.writeHead(200).end('secure'))) as unknown as Loopback<http.Server>;
      dir = tempDir();
      fs.writeFileSync(path.join(dir, 'ca.pem'), tls.certPem);
    });
    afterAll(async () => {
      await secure.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const surl = () => `https://127.0.0.1:${secure.port}/`;

    it('refuses an untrusted certificate by default', async () => {
      const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url: surl() }));
      expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(/^http probe: send: .*(self.signed|certificate)/i) });
    });

    it('trusts a declared CA file', async () => {
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: surl(), tlsCaFile: path.join(dir, 'ca.pem') }))).toEqual({ status: 'pass' });
    });

    it('skips verification only when told to', async () => {
      expect(await runOnce(declare({ kind: 'http', mode: 'enforce', url: surl(), tlsSkipVerify: true }))).toEqual({ status: 'pass' });
    });

    it('fails on an unreadable CA file', async () => {
      const r = await runOnce(declare({ kind: 'http', mode: 'enforce', url: surl(), tlsCaFile: path.join(dir, 'missing.pem') }));
      expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(/^http probe: tls options: ENOENT/) });
    });
  });
});

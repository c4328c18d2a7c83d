// The transport's guarantees: whom it trusts, whom the server trusts, TLS
// 1.2+, connect timeout, response size cap.
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { firstValueFrom } from 'rxjs';
import { createCa, issueClientCert, issueServerCert, makeHostKey } from '../../support/pki';
import { startTlsServer } from '../../support/tls-server';
import { beat, client, failure, memoryLogger, pki, server, type Pki } from './support';

describe('mTLS transport', () => {
  let p: Pki;
  beforeAll(async () => {
    p = await pki();
  });

  it('refuses a server whose certificate does not chain to the configured CA (no request is sent)', async () => {
    const rogueCa = await createCa('rogue CA');
    const rogue = await startTlsServer({ clientCa: p.ca, server: await issueServerCert(rogueCa) });
    rogue.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const c = client(p, rogue);
    const e = await failure(firstValueFrom(c.heartbeat(beat)));
    expect(e.kind).toBe('transport');
    expect(e.message).toMatch(/unable to verify|self.signed|UNABLE_TO_VERIFY_LEAF_SIGNATURE|certificate/i);
    expect(rogue.requests).toHaveLength(0);
    c.close();
    await rogue.close();
  });

  it('does not fall back to the system roots when a CA is configured', async () => {
    const srv = await server(p);
    const c = client(p, srv, { tls: { ca: (await createCa('other')).certPem, cert: p.clientCert.certPem, key: p.hostKey.pkcs8Pem } });
    expect((await failure(firstValueFrom(c.dispatch(0)))).kind).toBe('transport');
    c.close();
    await srv.close();
  });

  it('refuses a server certificate issued for another address', async () => {
    const wrongName = await startTlsServer({ clientCa: p.ca, server: await issueServerCert(p.ca, { ips: ['10.9.9.9'], dns: ['cp.example'] }) });
    const c = client(p, wrongName);
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e.kind).toBe('transport');
    expect(e.message).toMatch(/altnames|ERR_TLS_CERT_ALTNAME_INVALID|IP: 127\.0\.0\.1/i);
    expect(wrongName.requests).toHaveLength(0);
    c.close();
    await wrongName.close();
  });

  it('the server refuses the agent without a client certificate (TLS-level, as with a required client CA)', async () => {
    const strict = await server(p, { requireClientCert: true });
    strict.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
    const anon = client(p, strict, { tls: { ca: p.ca.certPem } });
    const e = await failure(firstValueFrom(anon.dispatch(0)));
    expect(e.kind).toBe('transport');
    expect(strict.requests).toHaveLength(0);
    // …and lets the agent in with its certificate.
    const agent = client(p, strict);
    expect(await firstValueFrom(agent.dispatch(0))).toEqual({ kind: 'none' });
    expect(strict.requests[0]?.peer?.cn).toBe('web-01');
    anon.close();
    agent.close();
    await strict.close();
  });

  it('a client certificate from another CA is not an identity (route-level 401)', async () => {
    const otherCa = await createCa('other CA');
    const key = makeHostKey();
    const foreign = await issueClientCert(otherCa, { cn: 'web-01', publicRaw: key.publicRaw });
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const c = client(p, srv, { tls: { ca: p.ca.certPem, cert: foreign.certPem, key: key.pkcs8Pem } });
    expect(await failure(firstValueFrom(c.heartbeat(beat)))).toMatchObject({ kind: 'status', status: 401 });
    expect(srv.requests[0]?.peer).toBeUndefined();
    c.close();
    await srv.close();
  });

  it('refuses TLS below 1.2', async () => {
    const tls = await import('node:tls');
    const legacy = tls.createServer({ key: p.server.keyPem, cert: p.server.certPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
    const port = (legacy.address() as net.AddressInfo).port;
    const c = client(p, { url: `https://127.0.0.1:${port}` } as never);
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e.kind).toBe('transport');
    expect(e.message).toMatch(/protocol|version|handshake|alert/i);
    c.close();
    await new Promise<void>((r) => legacy.close(() => r()));
  });

  it('gives up on a TCP peer that never completes the TLS handshake after the connect timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s)); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const c = client(p, { url: `https://127.0.0.1:${port}` } as never, { connectTimeoutMs: 100 });
    const e = await failure(firstValueFrom(c.dispatch(60)));
    expect(e).toEqual({ kind: 'transport', message: 'GET /v1/agent/dispatch?wait=60: ETIMEDOUT: connect timeout after 100 ms' });
    c.close();
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('caps the response body: an oversized 200 is a decode error with a log line, and reading stops', async () => {
    const srv = await server(p);
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: Buffer.concat([Buffer.from('{"received_at":"'), huge]) }));
    const logger = memoryLogger();
    const c = client(p, srv, { maxBodyBytes: 4096, logger });
    const e = await failure(firstValueFrom(c.heartbeat(beat)));
    expect(e).toEqual({ kind: 'decode', message: 'HTTP 200 from POST /v1/agent/heartbeat: body larger than 4096 bytes' });
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'control plane answer did not decode', fields: { method: 'POST', path: '/v1/agent/heartbeat', status: 200, reason: e.message } },
    ]);
    // An oversized error body keeps its status and is cut in the message.
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 500, body: huge }));
    const e500 = await failure(firstValueFrom(c.dispatch(0)));
    expect(e500).toMatchObject({ kind: 'status', status: 500 });
    expect(e500.message.length).toBeLessThan(700);
    c.close();
    await srv.close();
  });

  it('applies the cap after decompression (a gzip bomb is cut, not inflated)', async () => {
    const srv = await server(p);
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' }, body: bomb }));
    const c = client(p, srv, { maxBodyBytes: 100_000 });
    expect(await failure(firstValueFrom(c.heartbeat(beat)))).toEqual({ kind: 'decode', message: 'HTTP 200 from POST /v1/agent/heartbeat: body larger than 100000 bytes' });
    // A gzip answer within the cap decodes as usual.
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, headers: { 'content-encoding': 'gzip' }, body: zlib.gzipSync(Buffer.from('{"received_at":"2026-05-17T10:00:00Z"}')) }));
    expect(await firstValueFrom(c.heartbeat(beat))).toEqual({ receivedAt: '2026-05-17T10:00:00Z', bootstrapRollouts: [] });
    c.close();
    await srv.close();
  });

  it('a closed client answers with a transport error, not an exception', async () => {
    const srv = await server(p);
    const c = client(p, srv);
    c.close();
    expect(await failure(firstValueFrom(c.dispatch(0)))).toEqual({ kind: 'transport', message: 'GET /v1/agent/dispatch?wait=0: HTTP client is closed' });
    await srv.close();
  });

  // Redirects and proxies: redirects.spec.ts, proxy-tunnel.spec.ts.
});

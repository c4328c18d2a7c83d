// First-boot enrollment against a real loopback HTTPS server: the request on
// the wire, the not-ready retry on the injected scheduler, every refusal, and
// a certificate written atomically (0600) only when it is usable.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom, lastValueFrom, toArray, VirtualTimeScheduler } from 'rxjs';
import { createCpClient } from '../../../src/io/http/client';
import { enrollIfNeeded, type EnrollConfig, type EnrollError } from '../../../src/io/enroll/enroll';
import { loadTlsMaterial, NO_CA_MESSAGE } from '../../../src/io/enroll/identity';
import { createCa, issueFromCsr, issueServerCert, makeHostKey, type TestCa, type TestHostKey } from '../../support/pki';
import { startTlsServer, type TlsTestServer } from '../../support/tls-server';
import { ts } from '../../support/decode';
import { memoryLogger, tempDir } from '../http/support';

const NOT_READY = { status: 503, headers: { 'Retry-After': '30' }, body: { error: 'control plane not ready', reason: 'awaiting first signed artifact' } };

describe('first-boot enrollment', () => {
  let ca: TestCa;
  let srv: TlsTestServer;
  let key: TestHostKey;
  let dir: string;
  let files: { ca: string; key: string; token: string; cert: string };

  const token = (over: Record<string, unknown> = {}) => ({
    version: 1,
    claims: {
      hostname: 'web-01',
      expectedPubkeyFingerprint: key.fingerprint,
      issuedAt: '2026-05-17T09:00:00Z',
      expiresAt: '2026-05-18T09:00:00Z',
      nonce: 'c0ffee1234567890abcdef0123456789',
      ...over,
    },
    signature: 'c2lnbmF0dXJl',
  });

  const config = (extra: Partial<EnrollConfig> = {}): EnrollConfig => ({
    controlPlaneUrl: srv.url,
    machineId: 'web-01',
    caFile: files.ca,
    clientCertFile: files.cert,
    clientKeyFile: files.key,
    bootstrapTokenFile: files.token,
    ...extra,
  });

  const issue = () => async (req: { json(): unknown }) => {
    const { csrPem } = req.json() as { csrPem: string };
    const cert = await issueFromCsr(ca, csrPem, { cnSuffix: 'fleet.lab.internal', validitySecs: 30 * 86_400 });
    return { status: 200, body: { certPem: cert.certPem, notAfter: cert.notAfter.toISOString() } };
  };

  /** Enrollment on a virtual clock: its outcomes, its log, and a way to move the clock. */
  const enrollOn = (vts: VirtualTimeScheduler) => {
    const logger = memoryLogger();
    const done = lastValueFrom(enrollIfNeeded(config({ scheduler: vts, logger })).pipe(toArray()));
    const advanceTo = (frame: number) => {
      vts.maxFrames = frame;
      vts.flush();
    };
    return { logger, done, advanceTo };
  };

  const failure = (cfg: EnrollConfig): Promise<EnrollError> =>
    firstValueFrom(enrollIfNeeded(cfg)).then(
      (v) => {
        throw new Error(`expected failure, got ${JSON.stringify(v)}`);
      },
      (e: unknown) => e as EnrollError,
    );

  beforeAll(async () => {
    ca = await createCa();
    srv = await startTlsServer({ clientCa: ca, server: await issueServerCert(ca) });
    key = makeHostKey();
  });
  afterAll(() => srv.close());

  beforeEach(() => {
    dir = tempDir('enroll');
    files = { ca: path.join(dir, 'fleet-ca.pem'), key: path.join(dir, 'ssh_host_ed25519_key'), token: path.join(dir, 'token.json'), cert: path.join(dir, 'agent-cert.pem') };
    fs.writeFileSync(files.ca, ca.certPem);
    fs.writeFileSync(files.key, key.openssh, { mode: 0o600 });
    fs.writeFileSync(files.token, JSON.stringify(token()));
    srv.requests.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('POSTs {token, csrPem} without a client identity, writes the cert 0600, and the cert then works for mTLS', async () => {
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    const outcome = await firstValueFrom(enrollIfNeeded(config()));
    expect(outcome).toMatchObject({ kind: 'enrolled', certFile: files.cert, attempts: 1 });

    const req = srv.requests[0];
    expect(req?.headers['x-nixfleet-protocol']).toBe('1');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.peer).toBeUndefined();
    const body = req?.json() as { token: unknown; csrPem: string };
    expect(Object.keys(body)).toEqual(['token', 'csrPem']);
    expect(req?.body.toString()).toBe(JSON.stringify({ token: token(), csrPem: body.csrPem }));

    expect(fs.statSync(files.cert).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['agent-cert.pem', 'fleet-ca.pem', 'ssh_host_ed25519_key', 'token.json']);

    // The written cert + the host key are the agent's identity from now on.
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const tls = await firstValueFrom(loadTlsMaterial({ caFile: files.ca, clientCertFile: files.cert, clientKeyFile: files.key }));
    const c = createCpClient({ baseUrl: srv.url, tls });
    await firstValueFrom(c.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') }));
    expect(srv.requests[1]?.peer?.cn).toBe('agent-web-01.fleet.lab.internal');
    c.close();
  });

  it('sends the token as upstream re-serialises it: chrono timestamps, struct key order, unknown keys dropped', async () => {
    fs.writeFileSync(
      files.token,
      JSON.stringify({
        signature: 'c2ln',
        extra: true,
        claims: { nonce: 'n', expiresAt: '2026-05-18T11:00:00.000+02:00', issuedAt: '2026-05-17T09:00:00.000Z', hostname: 'web-01', expectedPubkeyFingerprint: key.fingerprint, note: 'x' },
        version: 1,
      }),
    );
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    await firstValueFrom(enrollIfNeeded(config()));
    const sent = srv.requests[0]?.body.toString() ?? '';
    expect(sent.startsWith(`{"token":{"version":1,"claims":{"hostname":"web-01","expectedPubkeyFingerprint":"${key.fingerprint}","issuedAt":"2026-05-17T09:00:00Z","expiresAt":"2026-05-18T09:00:00Z","nonce":"n"},"signature":"c2ln"},"csrPem":"-----BEGIN CERTIFICATE REQUEST-----\\n`)).toBe(true);
  });

  it('is skipped when the cert already exists or a file is not configured, without any request', async () => {
    fs.writeFileSync(files.cert, 'existing');
    expect(await firstValueFrom(enrollIfNeeded(config()))).toEqual({ kind: 'skipped', reason: 'cert-present' });
    fs.rmSync(files.cert);
    const { bootstrapTokenFile: _t, ...noToken } = config();
    expect(await firstValueFrom(enrollIfNeeded(noToken))).toEqual({ kind: 'skipped', reason: 'not-configured' });
    const { clientKeyFile: _k, ...noKey } = config();
    expect(await firstValueFrom(enrollIfNeeded(noKey))).toEqual({ kind: 'skipped', reason: 'not-configured' });
    expect(srv.requests).toHaveLength(0);
    expect(fs.readFileSync(path.join(dir, 'token.json'), 'utf8')).toContain('c0ffee');
  });

  it('retries a "control plane not ready" 503 every 10 s on the injected scheduler, then enrolls', async () => {
    const vts = new VirtualTimeScheduler();
    const seenAt: number[] = [];
    let answers = [NOT_READY, NOT_READY];
    srv.route(
      'POST',
      '/v1/enroll',
      async (req) => {
        seenAt.push(vts.now());
        const next = answers[0];
        answers = answers.slice(1);
        return next ?? issue()(req);
      },
      { auth: 'none' },
    );
    const { logger, done, advanceTo } = enrollOn(vts);
    await srv.nextRequest('/v1/enroll', 1);
    await waitFor(() => logger.lines.length === 1);
    advanceTo(9_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.requests).toHaveLength(1);
    advanceTo(10_000);
    await srv.nextRequest('/v1/enroll', 2);
    await waitFor(() => logger.lines.length === 2);
    advanceTo(20_000);
    await srv.nextRequest('/v1/enroll', 3);
    const [outcome] = await done;
    expect(seenAt).toEqual([0, 10_000, 20_000]);
    expect(outcome).toMatchObject({ kind: 'enrolled', attempts: 3 });
    expect(logger.lines.filter((l) => l.message.startsWith('enroll: control plane cold-starting'))).toHaveLength(2);
    expect(fs.existsSync(files.cert)).toBe(true);
  });

  it('retries a transport error (connection dropped, no answer) every 10 s, then enrolls', async () => {
    const vts = new VirtualTimeScheduler();
    let drops = 2;
    srv.route(
      'POST',
      '/v1/enroll',
      async (req) => {
        if (drops-- > 0) return { status: 0, hangUp: true };
        return issue()(req);
      },
      { auth: 'none' },
    );
    const { logger, done, advanceTo } = enrollOn(vts);
    const retries = () => logger.lines.filter((l) => l.message === 'enroll: control plane unreachable; retrying');
    await waitFor(() => retries().length === 1);
    advanceTo(9_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.requests).toHaveLength(1);
    advanceTo(10_000);
    await waitFor(() => retries().length === 2);
    advanceTo(20_000);
    const [outcome] = await done;
    expect(outcome).toMatchObject({ kind: 'enrolled', attempts: 3 });
    expect(retries()[0]).toMatchObject({ level: 'warn', fields: { retryInMs: 10_000, attempts: 1 } });
    expect(fs.existsSync(files.cert)).toBe(true);
  });

  it('refuses to enroll without a CA (the token would go to whoever holds a public certificate for the name), sending nothing', async () => {
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    const { caFile: _ca, ...noCa } = config();
    const e = await failure(noCa);
    expect(e.name).toBe('EnrollError');
    expect(e.message).toBe(`enroll: ${NO_CA_MESSAGE}`);
    expect(srv.requests).toHaveLength(0);
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it.each([
    ['a 503 without the not-ready text (no database)', { status: 503 }, /^enroll https:\/\/127\.0\.0\.1:\d+\/v1\/enroll: 503: \(empty body\)$/],
    ['409 (nonce already used)', { status: 409, body: 'nonce already used' }, /: 409: nonce already used — the bootstrap token was already used .*issue a new token for this host$/],
    ['401 (token refused)', { status: 401, body: '' }, /: 401: \(empty body\)$/],
    ['400 (CSR refused)', { status: 400, body: 'bad csr' }, /: 400: bad csr$/],
    ['426 (protocol)', { status: 426, body: 'upgrade' }, /: 426: upgrade$/],
  ])('fails at once on %s, writing nothing', async (_name, reply, message) => {
    srv.route('POST', '/v1/enroll', () => reply, { auth: 'none' });
    const e = await failure(config());
    expect(e.name).toBe('EnrollError');
    expect(e.message).toMatch(message);
    expect(e.cpError?.kind).toBe('status');
    expect(srv.requests).toHaveLength(1);
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it.each([
    ['truncated JSON', '{"certPem":"-----BEGIN'],
    ['wrong type', '{"certPem":42,"notAfter":"2026-06-16T09:00:05Z"}'],
    ['missing notAfter', '{"certPem":"x"}'],
    ['bad timestamp', '{"certPem":"x","notAfter":"tomorrow"}'],
    ['an array', '[]'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
  ])('a malformed 200 (%s) is a typed error with a log line and writes nothing', async (_name, body) => {
    srv.route('POST', '/v1/enroll', () => ({ status: 200, body }), { auth: 'none' });
    const logger = memoryLogger();
    const e = await failure(config({ logger }));
    expect(e.cpError?.kind).toBe('decode');
    expect(logger.lines.map((l) => l.message)).toEqual(['control plane answer did not decode']);
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it('refuses a certificate issued for another key (it could never be used), writing nothing', async () => {
    const other = makeHostKey();
    srv.route(
      'POST',
      '/v1/enroll',
      async () => {
        const { issueClientCert } = await import('../../support/pki');
        const cert = await issueClientCert(ca, { cn: 'web-01', publicRaw: other.publicRaw });
        return { status: 200, body: { certPem: cert.certPem, notAfter: cert.notAfter.toISOString() } };
      },
      { auth: 'none' },
    );
    expect((await failure(config())).message).toBe('enroll: issued certificate: certificate public key is not the host key');
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it('a certificate destination it cannot write fails before any request: the token is not spent', async () => {
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    const missingDir = path.join(dir, 'no-such-dir', 'agent-cert.pem'); // the module's old default on a fresh host
    expect((await failure(config({ clientCertFile: missingDir }))).message).toMatch(/^cannot write the certificate to .*no-such-dir\/agent-cert\.pem: .*ENOENT.*; the bootstrap token was not used$/);
    expect(srv.requests).toHaveLength(0);
  });

  it('keeps the issued certificate in the state dir first; a later start finishes a failed write without a request', async () => {
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    const pending = path.join(dir, 'state', 'enrolled-cert.pem');
    // A normal enrollment: the kept copy is removed once the certificate is in place.
    expect(await firstValueFrom(enrollIfNeeded(config({ pendingCertFile: pending })))).toMatchObject({ kind: 'enrolled', attempts: 1 });
    expect(fs.existsSync(pending)).toBe(false);
    expect(fs.statSync(path.dirname(pending)).mode & 0o777).toBe(0o700);
    // The CP answered and burned the token, but the final write was lost: only the kept copy exists.
    fs.writeFileSync(pending, fs.readFileSync(files.cert), { mode: 0o600 });
    fs.rmSync(files.cert);
    srv.requests.length = 0;
    const logger = memoryLogger();
    expect(await firstValueFrom(enrollIfNeeded(config({ pendingCertFile: pending, logger })))).toMatchObject({ kind: 'enrolled', attempts: 0, certFile: files.cert });
    expect(srv.requests).toHaveLength(0);
    expect(fs.existsSync(files.cert) && !fs.existsSync(pending)).toBe(true);
    expect(logger.lines.map((l) => l.message)).toEqual(['enrolled with the control plane']);
  });

  it('names the mistake when the token is for another host or another key, before any request', async () => {
    fs.writeFileSync(files.token, JSON.stringify(token({ hostname: 'db-02' })));
    expect((await failure(config())).message).toBe('bootstrap token is for host "db-02", this agent\'s machine id is "web-01"');
    fs.writeFileSync(files.token, JSON.stringify(token({ expectedPubkeyFingerprint: makeHostKey().fingerprint })));
    expect((await failure(config())).message).toMatch(/^bootstrap token expects key fingerprint .+, the host key's is /);
    fs.writeFileSync(files.token, '{"version":1}');
    expect((await failure(config())).message).toBe(`parse bootstrap token ${files.token}: invalid BootstrapToken: $.claims: missing required field; $.signature: missing required field`);
    expect(srv.requests).toHaveLength(0);
  });

  it('fails with a clear message when the host key is unusable', async () => {
    fs.chmodSync(files.key, 0o604);
    expect((await failure(config())).message).toBe(`enroll: host key ${files.key}: permissions 0604 are too open: the key is accessible to every user; chmod o-rwx (0600 expected)`);
  });

  it('a refused connection is retried with a warning and a start-timeout extension, never written as a cert', async () => {
    const vts = new VirtualTimeScheduler();
    const logger = memoryLogger();
    const retries: Array<[string, number]> = [];
    const sub = enrollIfNeeded(config({ controlPlaneUrl: 'https://127.0.0.1:1', scheduler: vts, logger, onRetry: (r, ms) => retries.push([r, ms]) })).subscribe({
      error: (e: unknown) => {
        throw e;
      },
    });
    await waitFor(() => logger.lines.length === 1);
    sub.unsubscribe();
    expect(logger.lines[0]).toMatchObject({ level: 'warn', message: 'enroll: control plane unreachable; retrying', fields: { attempts: 1 } });
    expect(String(logger.lines[0]?.fields?.['error'])).toMatch(/ECONNREFUSED/);
    expect(retries).toEqual([['control plane unreachable', 10_000]]);
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it("a CP whose certificate another CA signed is named as untrusted, not unreachable, and nothing is sent", async () => {
    const other = await createCa();
    fs.writeFileSync(files.ca, other.certPem); // a usable CA, just not the one that signed the CP
    srv.route('POST', '/v1/enroll', issue(), { auth: 'none' });
    const vts = new VirtualTimeScheduler();
    const logger = memoryLogger();
    const retries: Array<[string, number]> = [];
    const sub = enrollIfNeeded(config({ scheduler: vts, logger, onRetry: (r, ms) => retries.push([r, ms]) })).subscribe({
      error: (e: unknown) => {
        throw e;
      },
    });
    await waitFor(() => logger.lines.length === 1);
    sub.unsubscribe();
    expect(logger.lines[0]).toMatchObject({ level: 'warn', message: "enroll: the control plane's certificate does not verify against --ca-cert; retrying", fields: { attempts: 1, caCert: files.ca } });
    expect(retries).toEqual([['control plane certificate not trusted (check --ca-cert)', 10_000]]);
    expect(srv.requests).toHaveLength(0);
    expect(fs.existsSync(files.cert)).toBe(false);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition not reached');
}

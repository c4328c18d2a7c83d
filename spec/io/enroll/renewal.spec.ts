// Certificate renewal against a real mTLS server: the renewed cert is
// written atomically and the live HTTPS identity swapped in place (requests
// in flight finish on the old one, new ones use the new one, no restart);
// every failure leaves the working cert on disk and in use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { createCpClient, type CpClient } from '../../../src/io/http/client';
import { remainingFraction } from '../../../src/io/enroll/cert-info';
import { loadTlsMaterial } from '../../../src/io/enroll/identity';
import { createCertPort, type CertRenewError } from '../../../src/io/enroll/renewal';
import type { CertPort, CertValidity } from '../../../src/ports/host';
import { createCa, issueClientCert, issueFromCsr, issueServerCert, makeHostKey, type TestCa, type TestHostKey } from '../../support/pki';
import { startTlsServer, type TlsTestServer } from '../../support/tls-server';
import { ts } from '../../support/decode';
import { memoryLogger, nodeSerial, tempDir } from '../http/support';

const beat = { hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') };

describe('certificate renewal with a live identity swap', () => {
  let ca: TestCa;
  let srv: TlsTestServer;
  let key: TestHostKey;
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let initialSerial: string;
  let initialPem: string;
  let cp: CpClient;
  let issued: string[];

  const lastPeerSerial = (): string | undefined => srv.requests[srv.requests.length - 1]?.peer?.serial;
  const heartbeatSerial = async (): Promise<string | undefined> => {
    await firstValueFrom(cp.heartbeat(beat));
    return lastPeerSerial();
  };
  const failure = (port: CertPort): Promise<CertRenewError> =>
    firstValueFrom(port.renew()).then(
      (v) => {
        throw new Error(`expected failure, got ${JSON.stringify(v)}`);
      },
      (e: unknown) => e as CertRenewError,
    );

  beforeAll(async () => {
    ca = await createCa();
    srv = await startTlsServer({ clientCa: ca, server: await issueServerCert(ca) });
    key = makeHostKey();
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
  });
  afterAll(() => srv.close());

  beforeEach(async () => {
    dir = tempDir('renew');
    certFile = path.join(dir, 'agent-cert.pem');
    keyFile = path.join(dir, 'ssh_host_ed25519_key');
    fs.writeFileSync(keyFile, key.openssh, { mode: 0o600 });
    const first = await issueClientCert(ca, { cn: 'agent-web-01.fleet.lab.internal', publicRaw: key.publicRaw, notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 600_000) });
    initialSerial = nodeSerial(first.serial);
    initialPem = first.certPem;
    fs.writeFileSync(certFile, first.certPem, { mode: 0o600 });
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, ca.certPem);
    const tls = await firstValueFrom(loadTlsMaterial({ caFile, clientCertFile: certFile, clientKeyFile: keyFile }));
    cp = createCpClient({ baseUrl: srv.url, tls });
    issued = [];
    srv.route('POST', '/v1/agent/renew', async (req) => {
      const { csrPem } = req.json() as { csrPem: string };
      const cert = await issueFromCsr(ca, csrPem, { cnSuffix: 'fleet.lab.internal', validitySecs: 30 * 86_400 });
      issued.push(nodeSerial(cert.serial));
      return { status: 200, body: { certPem: cert.certPem, notAfter: cert.notAfter.toISOString() } };
    });
  });
  afterEach(() => {
    cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('validity() reads the certificate on disk', async () => {
    const port = createCertPort({ client: cp, machineId: 'web-01', certFile, hostKeyFile: keyFile });
    const v = await firstValueFrom(port.validity());
    const nb = new Date(v.notBefore).getTime();
    const na = new Date(v.notAfter).getTime();
    expect(na - nb).toBe(4_200_000);
    fs.writeFileSync(certFile, 'garbage');
    await expect(firstValueFrom(port.validity())).rejects.toThrow(`client certificate ${certFile}: no PEM certificate found`);
  });

  it('renews over the current identity, writes atomically, and swaps the live agent: a held request finishes on the old cert, new ones use the new cert', async () => {
    const logger = memoryLogger();
    const port = createCertPort({ client: cp, machineId: 'web-01', certFile, hostKeyFile: keyFile, logger });
    expect(await heartbeatSerial()).toBe(initialSerial);

    // A long-poll is in flight on the old identity across the swap.
    let release: () => void = () => undefined;
    srv.route('GET', '/v1/agent/dispatch', () => new Promise((resolve) => (release = () => resolve({ status: 204 }))));
    const held = firstValueFrom(cp.dispatch(60));
    const heldReq = await srv.nextRequest('/v1/agent/dispatch');
    expect(heldReq.peer?.serial).toBe(initialSerial);

    const validity = await firstValueFrom(port.renew());
    const renewReq = srv.requests.find((r) => r.path === '/v1/agent/renew');
    expect(renewReq?.peer?.serial).toBe(initialSerial);
    expect(renewReq?.headers['x-nixfleet-protocol']).toBe('1');
    const body = renewReq?.json() as { csrPem: string };
    expect(Object.keys(body)).toEqual(['csrPem']);
    expect(renewReq?.body.toString()).toBe(JSON.stringify({ csrPem: body.csrPem }));

    const onDisk = fs.readFileSync(certFile, 'utf8');
    expect(onDisk).not.toBe(initialPem);
    expect(fs.statSync(certFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual(['agent-cert.pem', 'ca.pem', 'ssh_host_ed25519_key']);
    expect(await firstValueFrom(port.validity())).toEqual(validity);
    expect(cp.identityGeneration).toBe(1);
    expect(cp.identity.cert).toBe(onDisk);

    // Same client object, no restart: the next request presents the renewed cert.
    expect(await heartbeatSerial()).toBe(issued[0]);
    expect(issued[0]).not.toBe(initialSerial);
    release();
    expect(await held).toEqual({ kind: 'none' });
    expect(logger.lines.map((l) => l.message)).toEqual(['renewed - wrote cert and swapped the live HTTPS identity (key unchanged: ssh host key)']);

    // And again: renewal keeps working from the renewed identity.
    await firstValueFrom(port.renew());
    expect(srv.requests.filter((r) => r.path === '/v1/agent/renew').map((r) => r.peer?.serial)).toEqual([initialSerial, issued[0]]);
    expect(await heartbeatSerial()).toBe(issued[1]);
  });

  const unchanged = async () => {
    expect(fs.readFileSync(certFile, 'utf8')).toBe(initialPem);
    expect(cp.identityGeneration).toBe(0);
    expect(await heartbeatSerial()).toBe(initialSerial);
  };

  it.each([
    ['500', { status: 500, body: 'no CA signer' }, 'status'],
    ['503 not ready', { status: 503, headers: { 'Retry-After': '30' }, body: { error: 'control plane not ready' } }, 'status'],
    ['401 (unknown host)', { status: 401 }, 'status'],
    ['400 (bad CSR)', { status: 400, body: 'csr' }, 'status'],
    ['truncated body', { status: 200, body: '{"certPem":"---' }, 'decode'],
    ['wrong types', { status: 200, body: { certPem: ['x'], notAfter: 5 } }, 'decode'],
    ['empty 200', { status: 200, body: '' }, 'decode'],
  ])('a failed renewal (%s) keeps the working cert on disk and in use', async (_name, reply, kind) => {
    srv.route('POST', '/v1/agent/renew', () => reply);
    const e = await failure(createCertPort({ client: cp, machineId: 'web-01', certFile, hostKeyFile: keyFile }));
    expect(e.name).toBe('CertRenewError');
    expect(e.cpError?.kind).toBe(kind);
    await unchanged();
  });

  it('refuses a renewed cert for another key, or one that is not a certificate', async () => {
    const other = makeHostKey();
    srv.route('POST', '/v1/agent/renew', async () => {
      const cert = await issueClientCert(ca, { cn: 'web-01', publicRaw: other.publicRaw });
      return { status: 200, body: { certPem: cert.certPem, notAfter: cert.notAfter.toISOString() } };
    });
    const port = createCertPort({ client: cp, machineId: 'web-01', certFile, hostKeyFile: keyFile });
    expect((await failure(port)).message).toBe('renew: issued certificate: certificate public key is not the host key');
    await unchanged();
    srv.route('POST', '/v1/agent/renew', () => ({ status: 200, body: { certPem: 'not a certificate', notAfter: '2026-06-16T09:00:05Z' } }));
    expect((await failure(port)).message).toBe('renew: issued certificate: no PEM certificate found');
    await unchanged();
  });

  it('a cert that cannot be written leaves the identity in use untouched', async () => {
    const port = createCertPort({ client: cp, machineId: 'web-01', certFile: path.join(dir, 'missing-dir', 'agent-cert.pem'), hostKeyFile: keyFile });
    expect((await failure(port)).message).toMatch(/ENOENT/);
    expect(cp.identityGeneration).toBe(0);
    expect(await heartbeatSerial()).toBe(initialSerial);
  });

  it('failed attempts leave the old cert serving every request until one succeeds and swaps', async () => {
    let failuresLeft = 2;
    const between: (string | undefined)[] = [];
    srv.route('POST', '/v1/agent/renew', async (req) => {
      between.push(req.peer?.serial);
      if (failuresLeft-- > 0) return { status: 500, body: 'try later' };
      const { csrPem } = req.json() as { csrPem: string };
      const cert = await issueFromCsr(ca, csrPem, {});
      issued.push(nodeSerial(cert.serial));
      return { status: 200, body: { certPem: cert.certPem, notAfter: cert.notAfter.toISOString() } };
    });
    const port = createCertPort({ client: cp, machineId: 'web-01', certFile, hostKeyFile: keyFile });
    for (let i = 0; i < 2; i += 1) {
      await expect(firstValueFrom(port.renew())).rejects.toThrow();
      expect(await heartbeatSerial()).toBe(initialSerial);
    }
    await firstValueFrom(port.renew());
    expect(between).toEqual([initialSerial, initialSerial, initialSerial]);
    expect(await heartbeatSerial()).toBe(issued[0]);
  });
});

describe('renewal arithmetic', () => {
  const validity: CertValidity = { notBefore: ts('2026-05-17T00:00:00Z'), notAfter: ts('2026-06-16T00:00:00Z') };

  it('remainingFraction follows upstream: whole seconds, clamped', () => {
    expect(remainingFraction(validity, ts('2026-05-17T00:00:00Z'))).toBe(1);
    expect(remainingFraction(validity, ts('2026-06-01T00:00:00Z'))).toBe(0.5);
    expect(remainingFraction(validity, ts('2026-05-16T00:00:00Z'))).toBe(1);
    expect(remainingFraction(validity, ts('2026-07-01T00:00:00Z'))).toBe(0);
    expect(remainingFraction({ notBefore: validity.notBefore, notAfter: validity.notBefore }, ts('2026-05-17T00:00:00.5Z'))).toBe(1);
  });
});

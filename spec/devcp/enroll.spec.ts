// Enrollment and renewal against the dev CP with the agent's own code
// (enrollIfNeeded, createCpClient, createCertPort) over loopback mTLS: the
// bootstrap-token checks in upstream's order and with its status codes, and
// certificates shaped as upstream issues them.
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as x509 from '@peculiar/x509';
import * as E from 'fp-ts/Either';
import { firstValueFrom } from 'rxjs';
import { addSeconds, fromEpochMillis } from '../../src/codecs/timestamp';
import type { BootstrapToken } from '../../src/codecs/wire';
import type { DevCp } from '../../src/devcp/dev-cp';
import { generateSigningKey } from '../../src/devcp/keys';
import { mintToken } from '../../src/devcp/tokens';
import { createCsrPem } from '../../src/io/enroll/csr';
import type { EnrollError } from '../../src/io/enroll/enroll';
import { createCertPort } from '../../src/io/enroll/renewal';
import { parseHostKey, type HostKey } from '../../src/io/enroll/host-key';
import { createCpClient } from '../../src/io/http/client';
import { isCpError } from '../../src/ports/control-plane';
import { agentClient, agentFiles, enroll, keys, raw, startCp, type Keys } from './support';

const hostKey = (openssh: string): HostKey => {
  const k = parseHostKey(openssh);
  if (E.isLeft(k)) throw new Error(k.left);
  return k.right;
};

const now = () => fromEpochMillis(Math.floor(Date.now() / 1000) * 1000);

describe('dev CP enrollment', () => {
  let k: Keys;
  let cp: DevCp;
  let open: DevCp; // no nonce allowlist: every other token check is reachable

  beforeAll(async () => {
    k = await keys();
    [cp, open] = await Promise.all([startCp(k), startCp(k, { requireNonceAllowlist: false })]);
  });
  afterAll(() => Promise.all([cp.close(), open.close()]));

  /** POST /v1/enroll with the agent's client (no client identity); resolves with the status and the CP's reason. */
  async function post(target: DevCp, token: BootstrapToken, csrPem: string): Promise<{ status: number; message: string }> {
    const client = createCpClient({ baseUrl: target.url, tls: { ca: target.caCertPem } });
    try {
      await firstValueFrom(client.enroll({ token, csrPem }));
      return { status: 200, message: '' };
    } catch (e) {
      if (isCpError(e) && e.kind === 'status') return { status: e.status, message: e.message };
      throw e;
    } finally {
      client.close();
    }
  }

  const csr = (openssh: string, cn: string) => createCsrPem(hostKey(openssh), cn);
  const resign = (token: BootstrapToken, claims: Partial<BootstrapToken['claims']>, key = k.orgRootKey): BootstrapToken =>
    mintToken(key, { ...token.claims, ...claims });

  it('enrolls the agent: cert CN agent-<host>.<suffix>, SAN dNSName, EKU clientAuth, the host key; it then works for mTLS', async () => {
    const files = await agentFiles(cp, k.web, 'web-01');
    const outcome = await enroll(cp, files, 'web-01');
    expect(outcome).toMatchObject({ kind: 'enrolled', attempts: 1 });

    const cert = new x509.X509Certificate(fs.readFileSync(files.cert, 'utf8'));
    expect(cert.subject).toBe('CN=agent-web-01.fleet.lab.internal');
    expect(cert.issuer).toBe(k.ca.cert.subject);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([{ type: 'dns', value: 'agent-web-01.fleet.lab.internal' }]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(Buffer.from(cert.publicKey.rawData).subarray(-32)).toEqual(Buffer.from(k.web.publicRaw));
    // notBefore = issuance (whole seconds), notAfter = + 30 days.
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(30 * 86_400_000);

    const client = await agentClient(cp, files);
    await expect(firstValueFrom(client.heartbeat({ hostname: 'web-01', at: now() }))).resolves.toMatchObject({ bootstrapRollouts: [] });
    client.close();
    const tls = { cert: fs.readFileSync(files.cert, 'utf8'), key: k.web.pkcs8Pem };
    const who = await raw(cp, { path: '/v1/whoami', ...tls });
    expect(who.status).toBe(200);
    expect(JSON.parse(who.text())).toMatchObject({ cn: 'agent-web-01.fleet.lab.internal' });
  });

  it('answers 409 when a token nonce is used again (the agent fails with the CP status)', async () => {
    const files = await agentFiles(cp, k.db, 'db-01');
    await enroll(cp, files, 'db-01');
    fs.rmSync(files.cert);
    const err = (await enroll(cp, files, 'db-01').then(
      () => undefined,
      (e: unknown) => e,
    )) as EnrollError | undefined;
    expect(err?.cpError).toMatchObject({ kind: 'status', status: 409 });
    expect(fs.existsSync(files.cert)).toBe(false);
  });

  it('refuses a nonce the CP never allowlisted, or one minted for another host (401)', async () => {
    const foreign = mintToken(k.orgRootKey, { hostname: 'web-01', expectedPubkeyFingerprint: k.web.fingerprint, issuedAt: addSeconds(now(), -60) });
    expect(await post(cp, foreign, await csr(k.web.openssh, 'web-01'))).toMatchObject({ status: 401, message: expect.stringContaining('allowlist') });
    const forDb = cp.mintToken('db-01');
    const stolen = resign(forDb, { hostname: 'web-01', expectedPubkeyFingerprint: k.web.fingerprint });
    expect(await post(cp, stolen, await csr(k.web.openssh, 'web-01'))).toMatchObject({ status: 401, message: expect.stringContaining('for host db-01') });
  });

  it.each([
    ['a wrong pubkey fingerprint', () => resign(open.mintToken('web-01'), { expectedPubkeyFingerprint: k.db.fingerprint }), 'web-01', 'fingerprint'],
    ['an unknown host', () => mintToken(k.orgRootKey, { hostname: 'ghost', expectedPubkeyFingerprint: k.web.fingerprint, issuedAt: addSeconds(now(), -60) }), 'ghost', 'not declared'],
    ['an expired token', () => open.mintToken('web-01', { issuedAt: addSeconds(now(), -7200), expiresAt: addSeconds(now(), -3600) }), 'web-01', 'validity window'],
    ['a token not valid yet', () => open.mintToken('web-01', { issuedAt: addSeconds(now(), 3600) }), 'web-01', 'validity window'],
    ['a bad signature', () => resign(open.mintToken('web-01'), {}, generateSigningKey()), 'web-01', 'signature'],
    ['a version-2 token', () => ({ ...open.mintToken('web-01'), version: 2 }), 'web-01', 'signature'],
    ['a CSR CN that is not the token host', () => open.mintToken('web-01'), 'db-01', 'does not match token hostname'],
  ])('answers 401 to %s', async (_what, token, csrCn, reason) => {
    expect(await post(open, token(), await csr(k.web.openssh, csrCn))).toMatchObject({ status: 401, message: expect.stringContaining(reason) });
  });

  it('answers 401 when the CSR key is not the declared host key, even with a matching fingerprint', async () => {
    const token = resign(open.mintToken('web-01'), { expectedPubkeyFingerprint: k.db.fingerprint });
    expect(await post(open, token, await csr(k.db.openssh, 'web-01'))).toMatchObject({ status: 401, message: expect.stringContaining('not the SSH host key declared') });
  });

  it('answers 400 to an unparseable CSR; the nonce stays unburnt', async () => {
    const token = cp.mintToken('web-01');
    expect(await post(cp, token, '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')).toMatchObject({ status: 400 });
    expect(await post(cp, token, await csr(k.web.openssh, 'web-01'))).toEqual({ status: 200, message: '' });
  });

  it('answers 415 / 400 / 422 to a body that is not the right JSON, before any token check', async () => {
    const h = { 'x-nixfleet-protocol': '1' };
    expect((await raw(cp, { method: 'POST', path: '/v1/enroll', headers: h, body: '{}' })).status).toBe(415);
    expect((await raw(cp, { method: 'POST', path: '/v1/enroll', headers: { ...h, 'content-type': 'application/json' }, body: '{"token":' })).status).toBe(400);
    const bad = await raw(cp, { method: 'POST', path: '/v1/enroll', headers: { ...h, 'content-type': 'application/json' }, body: '{"token":{"version":1},"csrPem":"x"}' });
    expect(bad.status).toBe(422);
    expect(bad.text()).toContain('$.token.claims');
  });
});

describe('dev CP renewal', () => {
  let k: Keys;
  let cp: DevCp;

  beforeAll(async () => {
    k = await keys();
    cp = await startCp(k, { cnSuffix: null, certValiditySecs: 3600 });
  });
  afterAll(() => cp.close());

  it('renews with the agent cert port: a new certificate for the same host key, written and used at once', async () => {
    const files = await agentFiles(cp, k.web, 'web-01');
    await enroll(cp, files, 'web-01');
    const first = new x509.X509Certificate(fs.readFileSync(files.cert, 'utf8'));
    expect(first.subject).toBe('CN=web-01'); // bare CN without a suffix
    expect(first.notAfter.getTime() - first.notBefore.getTime()).toBe(3_600_000);

    const client = await agentClient(cp, files);
    const port = createCertPort({ client, machineId: 'web-01', certFile: files.cert, hostKeyFile: files.key });
    const renewed = await firstValueFrom(port.renew());
    const second = new x509.X509Certificate(fs.readFileSync(files.cert, 'utf8'));
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(second.subject).toBe('CN=web-01');
    expect(renewed.notAfter).toBe(fromEpochMillis(second.notAfter.getTime()));
    expect(client.identityGeneration).toBe(1);
    await expect(firstValueFrom(client.heartbeat({ hostname: 'web-01', at: now() }))).resolves.toBeDefined();

    // Another key than the one declared for the caller: 401. Garbage: 400.
    await expect(firstValueFrom(client.renew(await csr(k.db.openssh, 'web-01')))).rejects.toMatchObject({ kind: 'status', status: 401 });
    await expect(firstValueFrom(client.renew('not a csr'))).rejects.toMatchObject({ kind: 'status', status: 400 });
    client.close();
  });

  it('answers 401 to a renewal without a client certificate', async () => {
    const client = createCpClient({ baseUrl: cp.url, tls: { ca: cp.caCertPem } });
    await expect(firstValueFrom(client.renew(await csr(k.web.openssh, 'web-01')))).rejects.toMatchObject({ kind: 'status', status: 401 });
    client.close();
  });

  const csr = (openssh: string, cn: string) => createCsrPem(hostKey(openssh), cn);
});

// The agent's TLS material from its files: CA alone unless both client files
// are configured; the certificate must hold the host key; no CA, no client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asyncScheduler, firstValueFrom } from 'rxjs';
import { loadTlsMaterial, NO_CA_MESSAGE } from '../../../src/io/enroll/identity';
import { createAgentPool } from '../../../src/io/http/agents';
import { createCa, issueClientCert, makeHostKey } from '../../support/pki';
import { tempDir } from '../http/support';

describe('loadTlsMaterial', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('identity');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the CA, and the client identity only when both files are configured', async () => {
    const ca = await createCa();
    const key = makeHostKey();
    const cert = await issueClientCert(ca, { cn: 'web-01', publicRaw: key.publicRaw });
    const files = { caFile: path.join(dir, 'ca.pem'), clientCertFile: path.join(dir, 'cert.pem'), clientKeyFile: path.join(dir, 'key') };
    fs.writeFileSync(files.caFile, ca.certPem);
    fs.writeFileSync(files.clientCertFile, cert.certPem);
    fs.writeFileSync(files.clientKeyFile, key.openssh, { mode: 0o600 });
    expect(await firstValueFrom(loadTlsMaterial(files))).toEqual({ ca: ca.certPem, cert: cert.certPem, key: key.pkcs8Pem });
    expect(await firstValueFrom(loadTlsMaterial({ caFile: files.caFile, clientKeyFile: files.clientKeyFile }))).toEqual({ ca: ca.certPem });
  });

  it('refuses to load without a CA: the public roots are never a fallback', async () => {
    await expect(firstValueFrom(loadTlsMaterial({}))).rejects.toThrow(NO_CA_MESSAGE);
    const key = makeHostKey();
    const files = { clientKeyFile: path.join(dir, 'key') };
    fs.writeFileSync(files.clientKeyFile, key.openssh, { mode: 0o600 });
    await expect(firstValueFrom(loadTlsMaterial(files))).rejects.toThrow(NO_CA_MESSAGE);
  });

  it('refuses a CA file that holds no parseable certificate, naming --ca-cert', async () => {
    const file = path.join(dir, 'ca.pem');
    for (const [text, problem] of [
      ['not a certificate\n', 'holds no PEM certificate'],
      ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'certificate 1 does not parse'],
    ] as const) {
      fs.writeFileSync(file, text);
      await expect(firstValueFrom(loadTlsMaterial({ caFile: file }))).rejects.toThrow(`--ca-cert ${file}: not a usable CA certificate: ${problem}`);
    }
  });

  it('the HTTPS agent refuses material without a CA, or a CA file holding no certificate', () => {
    const pool = (ca: string) => () => createAgentPool({ ca }, { scheduler: asyncScheduler, connectTimeoutMs: 1_000, trustSystemRoots: false, maxSockets: 1 });
    expect(pool('')).toThrow('no CA certificate (--ca-cert): refusing to trust the public roots for the control plane');
    expect(pool('not a certificate')).toThrow('the CA certificate (--ca-cert) holds no PEM certificate');
    // a runtime guard too: material from an untyped caller
    expect(pool(undefined as unknown as string)).toThrow('no CA certificate (--ca-cert)');
  });

  it('refuses a certificate that does not hold the host key, and a missing certificate', async () => {
    const ca = await createCa();
    const key = makeHostKey();
    const other = await issueClientCert(ca, { cn: 'web-01', publicRaw: makeHostKey().publicRaw });
    const files = { caFile: path.join(dir, 'ca.pem'), clientCertFile: path.join(dir, 'cert.pem'), clientKeyFile: path.join(dir, 'key') };
    fs.writeFileSync(files.caFile, ca.certPem);
    fs.writeFileSync(files.clientKeyFile, key.openssh, { mode: 0o600 });
    fs.writeFileSync(files.clientCertFile, other.certPem);
    await expect(firstValueFrom(loadTlsMaterial(files))).rejects.toThrow(`client certificate ${files.clientCertFile}: certificate public key is not the host key`);
    fs.rmSync(files.clientCertFile);
    await expect(firstValueFrom(loadTlsMaterial(files))).rejects.toThrow(/^client certificate .*cert\.pem: ENOENT/);
  });
});

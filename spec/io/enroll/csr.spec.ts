// The enrollment/renewal CSR: CN=<machine id> only, signed by the host key,
// checked by an independent implementation (`openssl req -verify`).
import 'reflect-metadata';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import * as E from 'fp-ts/Either';
import { firstValueFrom } from 'rxjs';
import { buildCsr, createCsrPem } from '../../../src/io/enroll/csr';
import { parseHostKey, type HostKey } from '../../../src/io/enroll/host-key';
import { csrPublicRaw, makeHostKey } from '../../support/pki';
import { tempDir } from '../http/support';

/** `openssl req -verify`: OpenSSL 3.0 exits 0 even on a bad signature, so read what it says. */
function opensslVerify(args: string[]): string {
  const r = spawnSync('openssl', ['req', ...args, '-verify', '-noout'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

const hostKey = (): HostKey => {
  const r = parseHostKey(makeHostKey().openssh);
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};

describe('CSR from the host key', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('csr');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('verifies with `openssl req -verify` and carries only CN=<machine id> and the host key', async () => {
    const key = hostKey();
    const pem = await firstValueFrom(buildCsr(key, 'web-01'));
    expect(pem.startsWith('-----BEGIN CERTIFICATE REQUEST-----\n')).toBe(true);
    const file = path.join(dir, 'web-01.csr');
    fs.writeFileSync(file, pem);
    const out = opensslVerify(['-in', file, '-subject']);
    expect(out).toContain('subject=CN = web-01');
    expect(out).toMatch(/verify OK/);
    expect(out).not.toMatch(/failure/);
    const text = execFileSync('openssl', ['req', '-in', file, '-noout', '-text']).toString();
    expect(text).toContain('Public Key Algorithm: ED25519');
    expect(text).toContain('Signature Algorithm: ED25519');
    expect(Buffer.from(csrPublicRaw(pem))).toEqual(Buffer.from(key.publicRaw));
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(csr.extensions).toHaveLength(0);
    expect(csr.attributes).toHaveLength(0);
  });

  it('openssl rejects a CSR whose signature was tampered with', async () => {
    const pem = await createCsrPem(hostKey(), 'web-01');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 1;
    const file = path.join(dir, 'bad.csr');
    fs.writeFileSync(file, der);
    const out = opensslVerify(['-inform', 'DER', '-in', file]);
    expect(out).toMatch(/verify failure/);
    expect(out).not.toMatch(/verify OK/);
  });

  it('writes the CN as a UTF8String, as rcgen does', async () => {
    const pem = await createCsrPem(hostKey(), 'db_02');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    // OID 2.5.4.3, then UTF8String (0x0c) of length 5.
    expect(der.includes(Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x05, ...Buffer.from('db_02')]))).toBe(true);
  });

  it('refuses an empty machine id', async () => {
    await expect(createCsrPem(hostKey(), '')).rejects.toThrow('machine id is empty');
  });

  it('the same key gives the same public key on every CSR (renewal keeps the host key)', async () => {
    const key = hostKey();
    const a = csrPublicRaw(await createCsrPem(key, 'web-01'));
    const b = csrPublicRaw(await createCsrPem(key, 'web-01'));
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
  });
});

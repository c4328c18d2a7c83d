// The certificate reader (node:crypto plus cert-der.ts) must give the fields
// @peculiar/x509 gave before it (serial, subject, validity), on certificates
// generated at random: serials of every length and sign, subjects of several
// attributes, dates on both sides of 2050 (UTCTime / GeneralizedTime), EC and
// Ed25519 keys. The status output and the logs show these strings.
import * as crypto from 'node:crypto';
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { x509 } from '../../../src/io/enroll/x509-lazy';
import { parseCertPem } from '../../../src/io/enroll/cert-info';

const X = x509();
const { subtle } = crypto.webcrypto;
type KeyPair = crypto.webcrypto.CryptoKeyPair;

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ED = { name: 'Ed25519' } as const;

// Printable text an X.500 name may carry, including the characters a DN must escape
// (not quotes or backslashes, which the generator itself interprets, nor a
// leading #, which makes it read the value as hex).
const nameText = fc.stringMatching(/^[A-Za-z0-9 ,+<>;=#.-]{1,12}$/).filter((s) => s.trim() === s && !s.startsWith('#'));

const certArb = fc.record({
  serialHex: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex')),
  cn: nameText,
  org: fc.option(nameText, { nil: undefined }),
  notBeforeMs: fc.integer({ min: Date.UTC(1951, 0, 1), max: Date.UTC(2090, 0, 1) }).map((ms) => Math.floor(ms / 1000) * 1000),
  lifeDays: fc.integer({ min: 1, max: 40_000 }),
  ed25519: fc.boolean(),
});

describe('parseCertPem reads what @peculiar/x509 read', () => {
  let keys: { ec: KeyPair; ed: KeyPair };
  beforeAll(async () => {
    keys = {
      ec: (await subtle.generateKey(EC, false, ['sign', 'verify'])) as KeyPair,
      ed: (await subtle.generateKey(ED, false, ['sign', 'verify'])) as KeyPair,
    };
  });

  it('on 150 random certificates: serial, subject, notBefore, notAfter, ed25519 key', async () => {
    await fc.assert(
      fc.asyncProperty(certArb, async (c) => {
        const pair = c.ed25519 ? keys.ed : keys.ec;
        const name = [{ CN: [c.cn] }, ...(c.org === undefined ? [] : [{ O: [c.org] }])];
        const cert = await X.X509CertificateGenerator.createSelfSigned({
          serialNumber: c.serialHex,
          name: new X.Name(name),
          notBefore: new Date(c.notBeforeMs),
          notAfter: new Date(c.notBeforeMs + c.lifeDays * 86_400_000),
          keys: pair,
          signingAlgorithm: c.ed25519 ? ED : EC,
        }, crypto.webcrypto);
        const pem = cert.toString('pem');
        const before = new X.X509Certificate(pem);
        const ours = parseCertPem(pem);
        if (E.isLeft(ours)) throw new Error(ours.left);
        expect(ours.right.serial).toBe(before.serialNumber);
        expect(ours.right.subject).toBe(before.subject);
        expect(ours.right.notBefore).toBe(before.notBefore.toISOString().replace('.000Z', 'Z'));
        expect(ours.right.notAfter).toBe(before.notAfter.toISOString().replace('.000Z', 'Z'));
        expect(ours.right.ed25519PublicRaw !== undefined).toBe(c.ed25519);
        expect(ours.right.fingerprint).toBe(crypto.createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex'));
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ['no PEM block', 'hello', /^no PEM certificate found$/],
    ['a PEM block of garbage', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', /^unreadable certificate: /],
  ])('refuses %s with a reason', (_name, pem, reason) => {
    const r = parseCertPem(pem);
    expect(E.isLeft(r) && r.left).toMatch(reason);
  });
});

// Test PKI minted in memory: a small CA (ECDSA P-256, like upstream's TPM
// issuance key), a loopback server certificate, client certificates for an
// ed25519 host key, CP-style issuance from a CSR, and OpenSSH host-key files
// encoded here byte for byte (PROTOCOL.key) so specs need no ssh-keygen.
// Reused by later end-to-end specs.
import 'reflect-metadata';
import * as crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';

const wc = crypto.webcrypto;
const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const ED25519 = { name: 'Ed25519' } as const;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const DAY_MS = 86_400_000;

export interface TestCa {
  readonly name: string;
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  readonly keys: crypto.webcrypto.CryptoKeyPair;
}

export interface KeyedCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
}

export interface IssuedCert {
  readonly certPem: string;
  readonly serial: string;
  readonly cn: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const pem = (label: string, der: ArrayBuffer | Uint8Array): string =>
  `-----BEGIN ${label}-----\n${(Buffer.from(der as ArrayBuffer).toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;

let serialCounter = 1;
/** Positive, unique within the run, hex. */
const nextSerial = (): string => (0x1000 + serialCounter++).toString(16).padStart(6, '0');

/** Whole seconds: certificates carry second precision anyway. */
const seconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

export async function createCa(name = 'nixfleet test CA'): Promise<TestCa> {
  const keys = (await wc.subtle.generateKey(P256, true, ['sign', 'verify'])) as crypto.webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: nextSerial(),
      name: `CN=${name}`,
      notBefore: seconds(new Date(now - DAY_MS)),
      notAfter: seconds(new Date(now + 365 * DAY_MS)),
      signingAlgorithm: ECDSA_SHA256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, wc),
      ],
    },
    wc,
  );
  return { name, cert, certPem: cert.toString('pem') + '\n', keys };
}

async function sign(
  ca: TestCa,
  subject: string,
  publicKey: crypto.webcrypto.CryptoKey,
  extensions: x509.Extension[],
  validity: { notBefore?: Date; notAfter?: Date },
): Promise<{ cert: x509.X509Certificate; serial: string; notBefore: Date; notAfter: Date }> {
  const now = Date.now();
  const notBefore = seconds(validity.notBefore ?? new Date(now - 60_000));
  const notAfter = seconds(validity.notAfter ?? new Date(now + 30 * DAY_MS));
  const serial = nextSerial();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject,
      issuer: ca.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_SHA256,
      publicKey,
      signingKey: ca.keys.privateKey,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions, await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, wc)],
    },
    wc,
  );
  return { cert, serial, notBefore, notAfter };
}

/** A server certificate for the loopback listener (IP SAN 127.0.0.1, DNS localhost). */
export async function issueServerCert(ca: TestCa, opts: { ips?: string[]; dns?: string[]; cn?: string } = {}): Promise<KeyedCert> {
  const keys = (await wc.subtle.generateKey(P256, true, ['sign', 'verify'])) as crypto.webcrypto.CryptoKeyPair;
  const names = [...(opts.ips ?? ['127.0.0.1']).map((value) => ({ type: 'ip' as const, value })), ...(opts.dns ?? ['localhost']).map((value) => ({ type: 'dns' as const, value }))];
  const { cert, serial } = await sign(
    ca,
    `CN=${opts.cn ?? 'control-plane.test'}`,
    keys.publicKey,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
    {},
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', await wc.subtle.exportKey('pkcs8', keys.privateKey)), serial };
}

const clientExtensions = (cn: string): x509.Extension[] => [
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }]),
];

export const importEd25519Public = (raw: Uint8Array): Promise<crypto.webcrypto.CryptoKey> => wc.subtle.importKey('raw', raw, ED25519, true, ['verify']);

/** A client certificate (EKU clientAuth, SAN dNSName = CN) for an ed25519 public key. */
export async function issueClientCert(ca: TestCa, opts: { cn: string; publicRaw: Uint8Array; notBefore?: Date; notAfter?: Date }): Promise<IssuedCert> {
  const { cert, serial, notBefore, notAfter } = await sign(ca, `CN=${opts.cn}`, await importEd25519Public(opts.publicRaw), clientExtensions(opts.cn), opts);
  return { certPem: cert.toString('pem') + '\n', serial, cn: opts.cn, notBefore, notAfter };
}

/**
 * What the CP does with a CSR (reference wire-protocol.md §7.3): verify it,
 * rewrite the CN to `agent-<cn>.<suffix>` when a suffix is given, one
 * dNSName SAN, EKU clientAuth, the CSR's key.
 */
export async function issueFromCsr(ca: TestCa, csrPem: string, opts: { cnSuffix?: string; validitySecs?: number; notBefore?: Date } = {}): Promise<IssuedCert & { csrCn: string }> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify(wc))) throw new Error('CSR signature does not verify');
  const csrCn = csr.subjectName.getField('CN')[0] ?? '';
  const cn = opts.cnSuffix === undefined ? csrCn : `agent-${csrCn}.${opts.cnSuffix}`;
  const notBefore = seconds(opts.notBefore ?? new Date(Date.now() - 1000));
  const notAfter = new Date(notBefore.getTime() + (opts.validitySecs ?? 30 * 86_400) * 1000);
  const publicKey = await csr.publicKey.export(wc);
  const { cert, serial } = await sign(ca, `CN=${cn}`, publicKey, clientExtensions(cn), { notBefore, notAfter });
  return { certPem: cert.toString('pem') + '\n', serial, cn, notBefore, notAfter, csrCn };
}

/** Raw ed25519 public key of a CSR. */
export function csrPublicRaw(csrPem: string): Uint8Array {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  return new Uint8Array(Buffer.from(csr.publicKey.rawData).subarray(-32));
}

// --- OpenSSH host keys ---------------------------------------------------------

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
export const sshString = (data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return Buffer.concat([u32(b.length), b]);
};

export interface OpenSshParts {
  cipher?: string;
  kdf?: string;
  kdfOptions?: Buffer;
  count?: number;
  publicBlob: Buffer;
  checkInts?: [number, number];
  keyType?: string;
  /** Raw fields after the key type in the private section (for ed25519: pub, seed||pub). */
  privateFields: Buffer[];
  comment?: string;
  /** Override the 1,2,3… padding. */
  padding?: Buffer;
  trailing?: Buffer;
}

/** Encodes an openssh-key-v1 container; every part can be bent for malformed-input specs. */
export function encodeOpenSsh(p: OpenSshParts): string {
  const check = p.checkInts ?? [0x5eed1234, 0x5eed1234];
  let section = Buffer.concat([u32(check[0]), u32(check[1]), sshString(p.keyType ?? 'ssh-ed25519'), ...p.privateFields, sshString(p.comment ?? 'root@test-host')]);
  const padding = p.padding ?? Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  section = Buffer.concat([section, padding]);
  const raw = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString(p.cipher ?? 'none'),
    sshString(p.kdf ?? 'none'),
    sshString(p.kdfOptions ?? Buffer.alloc(0)),
    u32(p.count ?? 1),
    sshString(p.publicBlob),
    sshString(section),
    p.trailing ?? Buffer.alloc(0),
  ]);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${(raw.toString('base64').match(/.{1,70}/g) ?? []).join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export interface TestHostKey {
  readonly seed: Uint8Array;
  readonly publicRaw: Uint8Array;
  readonly privateKey: crypto.KeyObject;
  /** The file content `ssh-keygen -t ed25519 -N ''` writes. */
  readonly openssh: string;
  readonly pkcs8Pem: string;
  /** `ssh-ed25519 AAAA… comment` (fleet.resolved `hosts.*.pubkey`). */
  readonly sshPublicLine: string;
  /** base64 SHA-256 of the raw public key (token `expectedPubkeyFingerprint`). */
  readonly fingerprint: string;
}

export const ed25519PublicBlob = (publicRaw: Uint8Array): Buffer => Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(publicRaw))]);

export function makeHostKey(seed: Uint8Array = crypto.randomBytes(32), comment = 'root@web-01'): TestHostKey {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicRaw = new Uint8Array(spki.subarray(-32));
  const pub = Buffer.from(publicRaw);
  const openssh = encodeOpenSsh({
    publicBlob: ed25519PublicBlob(publicRaw),
    privateFields: [sshString(pub), sshString(Buffer.concat([Buffer.from(seed), pub]))],
    comment,
  });
  return {
    seed,
    publicRaw,
    privateKey,
    openssh,
    pkcs8Pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    sshPublicLine: `ssh-ed25519 ${ed25519PublicBlob(publicRaw).toString('base64')} ${comment}`,
    fingerprint: crypto.createHash('sha256').update(publicRaw).digest('base64'),
  };
}

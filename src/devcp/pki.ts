// The development control plane's PKI: a fleet CA (ECDSA P-256, like
// upstream's TPM-backed issuance key), a loopback server certificate, agent
// certificates issued from a CSR as upstream issues them (reference
// wire-protocol.md §7.3), and OpenSSH ed25519 host keys encoded byte for
// byte (PROTOCOL.key) for demos and specs that need no ssh-keygen.
// node-forge cannot do ed25519 (design §5): @peculiar/x509 over WebCrypto.
// No clock is read here: every function that stamps a validity takes `nowMs`.
import 'reflect-metadata';
import * as crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { errorMessage } from '../ports/error-text';

const wc = crypto.webcrypto;
const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const ED25519 = { name: 'Ed25519' } as const;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const DAY_MS = 86_400_000;

export interface FleetCa {
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

export const pemOf = (label: string, der: ArrayBuffer | Uint8Array): string =>
  `-----BEGIN ${label}-----\n${(Buffer.from(der as ArrayBuffer).toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;

/**
 * Random positive 128-bit serial, hex. Random rather than a counter: a CA
 * loaded from a state directory keeps issuing across restarts, and serials
 * must stay unique. The first byte is kept in 0x10..0x7f: positive in DER
 * and without a leading zero in the hex Node prints.
 */
export function randomSerial(): string {
  const b = crypto.randomBytes(16);
  b[0] = 0x10 + ((b[0] ?? 0) % 0x70);
  return b.toString('hex');
}

/** Whole seconds: certificates carry second precision anyway. */
export const wholeSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

export interface CreateCaOptions {
  readonly nowMs: number;
  readonly name?: string;
  /** Default 3650 (a dev CA outlives many runs of its state directory). */
  readonly validityDays?: number;
}

export async function createFleetCa(opts: CreateCaOptions): Promise<FleetCa> {
  const name = opts.name ?? 'nixfleet dev fleet CA';
  const keys = (await wc.subtle.generateKey(P256, true, ['sign', 'verify'])) as crypto.webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=${name}`,
      notBefore: wholeSeconds(opts.nowMs - DAY_MS),
      notAfter: wholeSeconds(opts.nowMs + (opts.validityDays ?? 3650) * DAY_MS),
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

/** PKCS#8 PEM of the CA's private key (for `ca-key.pem` in a state directory). */
export async function exportCaKeyPem(ca: FleetCa): Promise<string> {
  return pemOf('PRIVATE KEY', await wc.subtle.exportKey('pkcs8', ca.keys.privateKey));
}

/** A CA written by `createFleetCa` + `exportCaKeyPem`; throws a readable error on anything else. */
export async function loadFleetCa(certPem: string, keyPem: string): Promise<FleetCa> {
  const cert = new x509.X509Certificate(certPem);
  const body = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(keyPem)?.[1];
  if (body === undefined) throw new Error('CA key: no PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) found');
  const privateKey = await wc.subtle.importKey('pkcs8', Buffer.from(body.replace(/\s+/g, ''), 'base64'), P256, true, ['sign']);
  const publicKey = await cert.publicKey.export(P256, ['verify'], wc);
  // The key must be the certificate's: sign and verify one message.
  const probe = Buffer.from('nixfleet dev CA key check');
  const sig = await wc.subtle.sign(ECDSA_SHA256, privateKey, probe);
  if (!(await wc.subtle.verify(ECDSA_SHA256, publicKey, sig, probe))) throw new Error('CA key does not belong to the CA certificate');
  const name = cert.subjectName.getField('CN')[0] ?? cert.subject;
  return { name, cert, certPem: cert.toString('pem') + '\n', keys: { privateKey, publicKey } };
}

async function sign(
  ca: FleetCa,
  subject: string,
  publicKey: crypto.webcrypto.CryptoKey,
  extensions: x509.Extension[],
  notBefore: Date,
  notAfter: Date,
): Promise<{ cert: x509.X509Certificate; serial: string }> {
  const serial = randomSerial();
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
  return { cert, serial };
}

export interface ServerCertOptions {
  readonly nowMs: number;
  /** Default ['127.0.0.1']. */
  readonly ips?: readonly string[];
  /** Default ['localhost']. */
  readonly dns?: readonly string[];
  readonly cn?: string;
  /** Default 365. */
  readonly validityDays?: number;
}

/** A server certificate for the loopback listener (IP SAN 127.0.0.1, DNS localhost). */
export async function issueServerCert(ca: FleetCa, opts: ServerCertOptions): Promise<KeyedCert> {
  const keys = (await wc.subtle.generateKey(P256, true, ['sign', 'verify'])) as crypto.webcrypto.CryptoKeyPair;
  const names = [...(opts.ips ?? ['127.0.0.1']).map((value) => ({ type: 'ip' as const, value })), ...(opts.dns ?? ['localhost']).map((value) => ({ type: 'dns' as const, value }))];
  const { cert, serial } = await sign(
    ca,
    `CN=${opts.cn ?? 'nixfleet-dev-cp'}`,
    keys.publicKey,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
    // Back-dated a day, as the CA: a client whose clock lags a little still accepts it.
    wholeSeconds(opts.nowMs - DAY_MS),
    wholeSeconds(opts.nowMs + (opts.validityDays ?? 365) * DAY_MS),
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: pemOf('PRIVATE KEY', await wc.subtle.exportKey('pkcs8', keys.privateKey)), serial };
}

const clientExtensions = (cn: string): x509.Extension[] => [
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  // rustls/webpki refuse CN-only client certificates: SAN dNSName = CN.
  new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }]),
];

export const importEd25519Public = (raw: Uint8Array): Promise<crypto.webcrypto.CryptoKey> => wc.subtle.importKey('raw', raw, ED25519, true, ['verify']);

export interface ClientCertOptions {
  readonly cn: string;
  readonly publicRaw: Uint8Array;
  readonly nowMs: number;
  /** Default now − 60 s. */
  readonly notBefore?: Date;
  /** Default now + 30 days. */
  readonly notAfter?: Date;
}

/** A client certificate (EKU clientAuth, SAN dNSName = CN) for an ed25519 public key. */
export async function issueClientCert(ca: FleetCa, opts: ClientCertOptions): Promise<IssuedCert> {
  const notBefore = wholeSeconds((opts.notBefore ?? new Date(opts.nowMs - 60_000)).getTime());
  const notAfter = wholeSeconds((opts.notAfter ?? new Date(opts.nowMs + 30 * DAY_MS)).getTime());
  const { cert, serial } = await sign(ca, `CN=${opts.cn}`, await importEd25519Public(opts.publicRaw), clientExtensions(opts.cn), notBefore, notAfter);
  return { certPem: cert.toString('pem') + '\n', serial, cn: opts.cn, notBefore, notAfter };
}

/** Upstream's `canonical_agent_cn`: `agent-<id>.<suffix>`, or the bare id without a suffix. */
export const canonicalAgentCn = (machineId: string, cnSuffix: string | undefined): string => (cnSuffix === undefined ? machineId : `agent-${machineId}.${cnSuffix}`);

/** Upstream's `extract_machine_id`: strip `agent-` and `.<suffix>` when both match, else the CN verbatim. */
export function extractMachineId(cn: string, cnSuffix: string | undefined): string {
  if (cnSuffix === undefined) return cn;
  const tail = `.${cnSuffix}`;
  if (cn.startsWith('agent-') && cn.endsWith(tail) && cn.length > 'agent-'.length + tail.length) return cn.slice('agent-'.length, cn.length - tail.length);
  return cn;
}

/** What a CSR holds, parsed and its signature verified. */
export interface ParsedCsr {
  readonly csr: x509.Pkcs10CertificateRequest;
  /** First CN, undefined when the subject has none. */
  readonly cn: string | undefined;
  /** Raw 32-byte key for ed25519; for other keys the subjectPublicKey contents (rcgen's `der_bytes`). */
  readonly publicKeyBytes: Uint8Array;
  readonly isEd25519: boolean;
}

/** Parses a PEM CSR and verifies its self-signature; Left is a reason (upstream answers 400). */
export async function parseCsr(csrPem: string): Promise<{ readonly ok: true; readonly value: ParsedCsr } | { readonly ok: false; readonly reason: string }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    return { ok: false, reason: `CSR unparseable: ${errorMessage(e)}` };
  }
  try {
    if (!(await csr.verify(wc))) return { ok: false, reason: 'CSR signature does not verify' };
  } catch (e) {
    return { ok: false, reason: `CSR signature unverifiable: ${errorMessage(e)}` };
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (e) {
    return { ok: false, reason: `CSR public key unreadable: ${errorMessage(e)}` };
  }
  const cn = csr.subjectName.getField('CN')[0];
  if (key.asymmetricKeyType === 'ed25519') {
    const spki = key.export({ format: 'der', type: 'spki' });
    return { ok: true, value: { csr, cn, publicKeyBytes: new Uint8Array(spki.subarray(spki.length - 32)), isEd25519: true } };
  }
  // EC keys: the uncompressed point, which is the subjectPublicKey bit string.
  const jwk = key.export({ format: 'jwk' });
  const bytes =
    typeof jwk.x === 'string' && typeof jwk.y === 'string'
      ? Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')])
      : Buffer.from(csr.publicKey.rawData);
  return { ok: true, value: { csr, cn, publicKeyBytes: new Uint8Array(bytes), isEd25519: false } };
}

export interface IssueFromCsrOptions {
  readonly nowMs: number;
  /** Rewrite the CN to `agent-<cn>.<suffix>`; the CSR's CN verbatim when absent. */
  readonly cnSuffix?: string;
  /** Use this machine id instead of the CSR's CN (renewal stamps the verified caller). */
  readonly machineId?: string;
  /** Default 30 days (upstream `AGENT_CERT_VALIDITY`). */
  readonly validitySecs?: number;
  /** Default: the issuance time (whole seconds), as upstream. */
  readonly notBefore?: Date;
}

/**
 * What the CP does with a CSR (reference wire-protocol.md §7.3): verify it,
 * rewrite the CN to `agent-<cn>.<suffix>` when a suffix is given, one
 * dNSName SAN, EKU clientAuth, the CSR's key. The leaf only, no chain.
 */
export async function issueFromCsr(ca: FleetCa, csrPem: string, opts: IssueFromCsrOptions): Promise<IssuedCert & { csrCn: string }> {
  const parsed = await parseCsr(csrPem);
  if (!parsed.ok) throw new Error(parsed.reason);
  const csrCn = parsed.value.cn ?? '';
  const cn = canonicalAgentCn(opts.machineId ?? csrCn, opts.cnSuffix);
  const notBefore = wholeSeconds((opts.notBefore ?? new Date(opts.nowMs)).getTime());
  const notAfter = new Date(notBefore.getTime() + (opts.validitySecs ?? 30 * 86_400) * 1000);
  const publicKey = await parsed.value.csr.publicKey.export(wc);
  const { cert, serial } = await sign(ca, `CN=${cn}`, publicKey, clientExtensions(cn), notBefore, notAfter);
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

export interface HostKeyMaterial {
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

/** `ssh-ed25519 <base64 blob> <comment>` for a raw public key. */
export const sshPublicLineOf = (publicRaw: Uint8Array, comment: string): string => `ssh-ed25519 ${ed25519PublicBlob(publicRaw).toString('base64')}${comment === '' ? '' : ` ${comment}`}`;

/** A fresh (or seeded) ed25519 host key in every form a demo needs. */
export function makeHostKey(seed: Uint8Array = crypto.randomBytes(32), comment = 'root@web-01'): HostKeyMaterial {
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
    sshPublicLine: sshPublicLineOf(publicRaw, comment),
    fingerprint: crypto.createHash('sha256').update(publicRaw).digest('base64'),
  };
}

/**
 * Raw ed25519 key of an OpenSSH public line (`ssh-ed25519 AAAA… [comment]`),
 * or undefined when the line is not one (wrong type, bad base64, bad blob).
 */
export function parseSshEd25519PublicLine(line: string): Uint8Array | undefined {
  const parts = line.trim().split(/\s+/);
  if (parts[0] !== 'ssh-ed25519' || parts[1] === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(parts[1])) return undefined;
  const blob = Buffer.from(parts[1], 'base64');
  if (blob.length !== 4 + 11 + 4 + 32) return undefined;
  if (blob.readUInt32BE(0) !== 11 || blob.subarray(4, 15).toString('latin1') !== 'ssh-ed25519' || blob.readUInt32BE(15) !== 32) return undefined;
  return new Uint8Array(blob.subarray(19));
}

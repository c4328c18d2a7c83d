// Helpers for the trust specs: vector files, fresh keys, signing, and the
// curve arithmetic needed to forge what node:crypto wrongly accepts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { canonicalizeText } from '../../src/codecs/jcs';

export const VECTORS = path.resolve(__dirname, '../vectors');
export const vectorBytes = (rel: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(VECTORS, rel)));
export const vectorText = (rel: string): string => fs.readFileSync(path.join(VECTORS, rel), 'utf8');

export function right<L, R>(e: E.Either<L, R>): R {
  if (E.isLeft(e)) throw new Error(`expected Right, got Left: ${JSON.stringify(e.left)}`);
  return e.right;
}

export function leftKind<R>(e: E.Either<{ kind: string }, R>): string {
  return E.isLeft(e) ? e.left.kind : 'Ok';
}

export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** Canonical bytes of JSON text, as a producer signs them. */
export const canonicalBytes = (text: string): Uint8Array => utf8(right(canonicalizeText(text)));

export interface TestKey {
  readonly algorithm: 'ed25519' | 'ecdsa-p256';
  /** trust.json form: base64 of raw 32 bytes (ed25519) or X‖Y (P-256). */
  readonly public: string;
  sign(message: Uint8Array): Uint8Array;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Ed25519 from a 32-byte seed (deterministic), or a fresh random one. */
export function ed25519Key(seed: Uint8Array = crypto.randomBytes(32)): TestKey & { readonly seed: Uint8Array } {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(crypto.createPublicKey(privateKey).export({ format: 'jwk' }).x ?? '', 'base64url');
  return {
    algorithm: 'ed25519',
    public: raw.toString('base64'),
    seed,
    sign: (m) => new Uint8Array(crypto.sign(null, m, privateKey)),
  };
}

export function p256Key(): TestKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return {
    algorithm: 'ecdsa-p256',
    public: raw.toString('base64'),
    sign: (m) => new Uint8Array(crypto.sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

export const trusted = (...keys: TestKey[]) => keys.map((k) => ({ algorithm: k.algorithm, public: k.public }));

// --- curve arithmetic for the strictness tests -------------------------------

export const L = (1n << 252n) + 27742317777372353535851937790883648493n;
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

export function bigToLe(n: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export const bigToBe = (n: bigint, len = 32): Uint8Array => bigToLe(n, len).reverse();
export const beToBig = (b: Uint8Array): bigint => leToBig(Uint8Array.from(b).reverse());

/** The clamped secret scalar `a` of an RFC 8032 key from its seed. */
export function secretScalar(seed: Uint8Array): bigint {
  const h = crypto.createHash('sha512').update(seed).digest();
  const a = Buffer.from(h.subarray(0, 32));
  a[0] = (a[0] ?? 0) & 248;
  a[31] = ((a[31] ?? 0) & 127) | 64;
  return leToBig(a);
}

/**
 * A signature whose R is the identity point and S = k·a mod L: it satisfies
 * the verification equation, so OpenSSL accepts it, but R has small order, so
 * ed25519-dalek's verify_strict refuses it.
 */
export function identityRSignature(key: ReturnType<typeof ed25519Key>, message: Uint8Array): Uint8Array {
  const R = bigToLe(1n); // encoding of the identity (0, 1)
  const A = Buffer.from(key.public, 'base64');
  const k = leToBig(crypto.createHash('sha512').update(R).update(A).update(message).digest()) % L;
  const S = (k * secretScalar(key.seed)) % L;
  return Uint8Array.from([...R, ...bigToLe(S)]);
}

/** The eight canonical small-order encodings listed in the reference (§12). */
export const SMALL_ORDER_CANONICAL = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];

/** Non-canonical spellings dalek decodes to small-order points: y = p, y = p + 1, and sign-bit variants. */
export const SMALL_ORDER_NONCANONICAL = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

/** Plain node:crypto Ed25519 verification of a raw key, for showing what it accepts. */
export function nodeAcceptsEd25519(rawKeyHex: string, message: Uint8Array, sig: Uint8Array): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(rawKeyHex, 'hex')]);
  try {
    return crypto.verify(null, message, { key: spki, format: 'der', type: 'spki' }, sig);
  } catch {
    return false;
  }
}

/** Sets meta.signedAt (and optionally more) in a JSON document and returns canonical bytes. */
export function withMeta(text: string, edit: (doc: Record<string, any>) => void): Uint8Array {
  const doc = JSON.parse(text) as Record<string, any>;
  edit(doc);
  return canonicalBytes(JSON.stringify(doc));
}

// Signature checks over canonical bytes with upstream's strictness:
// ed25519 as ed25519-dalek `verify_strict`, ecdsa-p256 as the `p256` crate
// (raw X‖Y keys, raw r‖s signatures, SHA-256, high-s accepted).
import * as crypto from 'node:crypto';

export const SUPPORTED_ALGORITHMS = ['ed25519', 'ecdsa-p256'] as const;
export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export function isSupportedAlgorithm(a: unknown): a is SupportedAlgorithm {
  return a === 'ed25519' || a === 'ecdsa-p256';
}

/**
 * Standard base64 with padding, decoded strictly like Rust's `STANDARD`
 * engine: Node's decoder skips junk and accepts url-safe characters, so a
 * string counts only if it is exactly the canonical encoding of its bytes.
 */
export function decodeBase64Strict(s: string): Uint8Array | null {
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}

// y-coordinates (low 255 bits, mod p) of the eight points of order dividing 8:
// identity (y=1), order 2 (y=p−1), order 4 (y=0), order 8 (two values).
// dalek reduces y mod p without a canonicity check, so y=p and y=p+1 decode
// to the same points; the sign bit only picks x. Matching y alone therefore
// catches every encoding dalek treats as small order, canonical or not.
const P = (1n << 255n) - 19n;
const le = (n: bigint): Uint8Array => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse());
const fromLeHex = (h: string): bigint => BigInt('0x' + Buffer.from(h, 'hex').reverse().toString('hex'));
const Y_ORDER_8 = fromLeHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
const SMALL_ORDER_Y = [0n, 1n, P - 1n, P, P + 1n, Y_ORDER_8, P - Y_ORDER_8].map(le);

/** True when 32 bytes encode (under dalek's lenient decoding) a point of small order. */
export function isSmallOrderEncoding(bytes: Uint8Array, offset = 0): boolean {
  if (bytes.length < offset + 32) return false;
  return SMALL_ORDER_Y.some((y) => {
    for (let i = 0; i < 31; i++) if (bytes[offset + i] !== y[i]) return false;
    return ((bytes[offset + 31] ?? 0) & 0x7f) === y[31]; // the sign bit only picks x
  });
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_BYTES = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** S (bytes 32..63 of a signature, little-endian) is canonical iff S < L. */
export function isCanonicalScalar(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i] ?? 0;
    const l = L_BYTES[i] ?? 0;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

type PreparedKey = { readonly algorithm: SupportedAlgorithm; readonly key: crypto.KeyObject } | null;

// Building a KeyObject costs more than a verification (~100 µs vs ~80 µs on
// Node 20), and trust roots are re-read per verification, so keys are cached
// by their text. Bound: a trust file holds at most 3 keys per slot; 64 covers
// many rotations and test suites. Overflow drops the oldest entry.
const KEY_CACHE_CAPACITY = 64;
const keyCache = new Map<string, PreparedKey>();

function prepare(algorithm: SupportedAlgorithm, publicB64: string): PreparedKey {
  const raw = decodeBase64Strict(publicB64);
  try {
    if (algorithm === 'ed25519') {
      // A small-order key verifies forged signatures in OpenSSL; dalek refuses it.
      if (raw === null || raw.length !== 32 || isSmallOrderEncoding(raw)) return null;
      return { algorithm, key: crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
    }
    if (raw === null || raw.length !== 64) return null;
    const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(raw.subarray(0, 32)).toString('base64url'), y: Buffer.from(raw.subarray(32)).toString('base64url') };
    // createPublicKey refuses points not on the curve.
    return { algorithm, key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) };
  } catch {
    return null;
  }
}

function preparedKey(algorithm: SupportedAlgorithm, publicB64: string): PreparedKey {
  const id = `${algorithm}:${publicB64}`;
  const hit = keyCache.get(id);
  if (hit !== undefined) return hit;
  const prepared = prepare(algorithm, publicB64);
  if (keyCache.size >= KEY_CACHE_CAPACITY) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) keyCache.delete(oldest.value);
  }
  keyCache.set(id, prepared);
  return prepared;
}

/**
 * Does `signature` verify `message` under this trusted key? Every problem
 * (bad base64, wrong length, off-curve point, small order, S >= L, wrong
 * signature length) is simply "no match", as upstream's loop treats it.
 */
export function verifyWithKey(algorithm: SupportedAlgorithm, publicB64: string, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const prepared = preparedKey(algorithm, publicB64);
  if (prepared === null) return false;
  try {
    if (algorithm === 'ed25519') {
      // verify_strict: canonical S and a non-small-order R, on top of OpenSSL's check.
      if (!isCanonicalScalar(signature) || isSmallOrderEncoding(signature, 0)) return false;
      return crypto.verify(null, message, prepared.key, signature);
    }
    return crypto.verify('sha256', message, { key: prepared.key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

// Strictness beyond plain node:crypto (reference §3, §12): ed25519 small-order
// keys and R values and S >= L are refused as ed25519-dalek `verify_strict`
// refuses them; P-256 takes raw X‖Y keys and raw r‖s signatures, high-s allowed.
// Each forgery is first shown to pass bare crypto.verify, so these tests fail
// if the extra checks go away.
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { isSmallOrderEncoding } from '../../src/trust';
import { verifyRevocations, verifyRolloutManifest } from '../../src/trust';
import {
  beToBig,
  bigToBe,
  bigToLe,
  canonicalBytes,
  ed25519Key,
  identityRSignature,
  L,
  leToBig,
  leftKind,
  nodeAcceptsEd25519,
  P256_N,
  p256Key,
  secretScalar,
  SMALL_ORDER_CANONICAL,
  SMALL_ORDER_NONCANONICAL,
  trusted,
  utf8,
  vectorText,
} from './support';

// --- an independent small-order test: decode like dalek, multiply by 8 -------
const p = (1n << 255n) - 19n;
const mod = (a: bigint): bigint => ((a % p) + p) % p;
const pow = (b: bigint, e: bigint): bigint => {
  let r = 1n;
  let x = mod(b);
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % p;
    x = (x * x) % p;
  }
  return r;
};
const inv = (a: bigint): bigint => pow(a, p - 2n);
const d = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (p - 1n) / 4n);

/** dalek's lenient decompression: y is the low 255 bits reduced mod p; null when off the curve. */
function decompress(bytes: Uint8Array): [bigint, bigint] | null {
  const raw = leToBig(bytes);
  const sign = raw >> 255n;
  const y = mod(raw & ((1n << 255n) - 1n));
  const u = mod(y * y - 1n);
  const v = mod(d * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (p - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return null;
  if ((x & 1n) !== sign) x = mod(-x);
  return [x, y];
}

function add([x1, y1]: [bigint, bigint], [x2, y2]: [bigint, bigint]): [bigint, bigint] {
  const t = mod(d * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}

function hasSmallOrder(bytes: Uint8Array): boolean {
  let pt = decompress(bytes);
  if (pt === null) return false;
  for (let i = 0; i < 3; i++) pt = add(pt, pt);
  return pt[0] === 0n && pt[1] === 1n;
}

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('small-order detection', () => {
  it('the eight canonical encodings of the reference are small order (checked by point arithmetic)', () => {
    for (const h of SMALL_ORDER_CANONICAL) {
      expect([h, hasSmallOrder(hex(h)), isSmallOrderEncoding(hex(h))]).toEqual([h, true, true]);
    }
  });

  it('non-canonical encodings dalek decodes to small-order points are caught too', () => {
    for (const h of SMALL_ORDER_NONCANONICAL) {
      expect([h, hasSmallOrder(hex(h)), isSmallOrderEncoding(hex(h))]).toEqual([h, true, true]);
    }
  });

  it('agrees with point arithmetic on random encodings and real keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        expect(isSmallOrderEncoding(b)).toBe(hasSmallOrder(b));
      }),
      { numRuns: 1000 },
    );
    for (let i = 0; i < 20; i++) expect(isSmallOrderEncoding(Buffer.from(ed25519Key().public, 'base64'))).toBe(false);
  });
});

describe('ed25519: forgeries that bare crypto.verify accepts are refused', () => {
  // R = [r]B for a scalar r we know and S = r: the equation [S]B = R + [k]A
  // then holds whenever [k]A is the identity, which for a small-order A is
  // about 1 message in ord(A). R itself is an ordinary point, so only the
  // public-key check can refuse these.
  const nonce = ed25519Key();
  const forgedSig = Uint8Array.from([...Buffer.from(nonce.public, 'base64'), ...bigToLe(secretScalar(nonce.seed) % L)]);

  it.each([...SMALL_ORDER_CANONICAL, ...SMALL_ORDER_NONCANONICAL])('small-order public key %s', (keyHex) => {
    const key = [{ algorithm: 'ed25519', public: Buffer.from(keyHex, 'hex').toString('base64') }];
    let forged: Uint8Array | null = null;
    for (let i = 0; i < 256 && forged === null; i++) {
      const doc = canonicalBytes(JSON.stringify({ schemaVersion: 1, revocations: [], meta: { schemaVersion: 1, signedAt: '2026-05-01T00:00:00Z', ciCommit: `c${i}` } }));
      if (nodeAcceptsEd25519(keyHex, doc, forgedSig)) forged = doc;
      expect(leftKind(verifyRevocations(doc, forgedSig, key, { now: '2026-05-01T00:00:00Z', freshnessWindowSecs: 60 }))).toBe('BadSignature');
    }
    if (SMALL_ORDER_CANONICAL.includes(keyHex)) expect(forged).not.toBeNull();
  });

  it('the all-zero key of upstream’s manifest_cache test: a forged manifest passes node, not us', () => {
    const trust = JSON.parse(vectorText('upstream/extracted-inline/manifest_cache.minimal-trust.json'));
    const keys = [trust.ciReleaseKey.current];
    const base = JSON.parse(vectorText('derived/nixfleet-harness/rollout-manifest/manifest.canonical.json'));
    let forged: Uint8Array | null = null;
    for (let i = 0; i < 256 && forged === null; i++) {
      const doc = canonicalBytes(JSON.stringify({ ...base, displayName: `stable@${i}` }));
      if (nodeAcceptsEd25519('00'.repeat(32), doc, forgedSig)) forged = doc;
    }
    expect(forged).not.toBeNull();
    expect(leftKind(verifyRolloutManifest(forged ?? new Uint8Array(), forgedSig, keys, { now: '2026-05-01T00:00:00Z', freshnessWindowSecs: 60 }))).toBe('BadSignature');
  });

  it('a small-order R under a real key (R = identity, S = k·a) passes node, not us', () => {
    const key = ed25519Key();
    const doc = canonicalBytes(vectorText('upstream/extracted-inline/verify_revocations.empty-list.json'));
    const sig = identityRSignature(key, doc);
    const rawKey = Buffer.from(key.public, 'base64').toString('hex');
    expect(nodeAcceptsEd25519(rawKey, doc, sig)).toBe(true);
    expect(leftKind(verifyRevocations(doc, sig, trusted(key), { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }))).toBe('BadSignature');
    // The honest signature from the same key verifies.
    expect(leftKind(verifyRevocations(doc, key.sign(doc), trusted(key), { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }))).toBe('Ok');
  });

  it('S + L (a malleated signature) is refused', () => {
    const key = ed25519Key();
    const doc = canonicalBytes(vectorText('upstream/extracted-inline/verify_revocations.empty-list.json'));
    const sig = key.sign(doc);
    const malleated = Uint8Array.from([...sig.subarray(0, 32), ...bigToLe(leToBig(sig.subarray(32)) + L)]);
    expect(leftKind(verifyRevocations(doc, malleated, trusted(key), { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }))).toBe('BadSignature');
    const sEqualsL = Uint8Array.from([...sig.subarray(0, 32), ...bigToLe(L)]);
    expect(leftKind(verifyRevocations(doc, sEqualsL, trusted(key), { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }))).toBe('BadSignature');
  });
});

describe('ecdsa-p256 in upstream’s encoding', () => {
  const key = p256Key();
  const doc = canonicalBytes(vectorText('upstream/extracted-inline/verify_revocations.empty-list.json'));
  const sig = key.sign(doc);
  const run = (s: Uint8Array, pub: string = key.public) =>
    leftKind(verifyRevocations(doc, s, [{ algorithm: 'ecdsa-p256', public: pub }], { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }));
  const r = beToBig(sig.subarray(0, 32));
  const s = beToBig(sig.subarray(32));
  const rs = (a: bigint, b: bigint) => Uint8Array.from([...bigToBe(a), ...bigToBe(b)]);

  it('raw r‖s verifies, and so does its high-s twin (upstream normalises s)', () => {
    expect(run(sig)).toBe('Ok');
    expect(run(rs(r, P256_N - s))).toBe('Ok');
  });

  it('r or s out of range, and DER-encoded signatures, are refused', () => {
    expect(run(rs(0n, s))).toBe('BadSignature');
    expect(run(rs(r, 0n))).toBe('BadSignature');
    expect(run(rs(r + P256_N, s))).toBe('BadSignature');
    expect(run(rs(r, s + P256_N))).toBe('BadSignature');
    const der = crypto.sign('sha256', doc, crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    expect(der.length).toBeGreaterThan(64);
    expect(run(new Uint8Array(der))).toBe('BadSignature');
  });

  it('keys must be exactly X‖Y on the curve', () => {
    const raw = Buffer.from(key.public, 'base64');
    expect(run(sig, Buffer.concat([Buffer.from([4]), raw]).toString('base64'))).toBe('BadSignature');
    const compressed = Buffer.concat([Buffer.from([2 + ((raw[63] ?? 0) & 1)]), raw.subarray(0, 32)]);
    expect(run(sig, compressed.toString('base64'))).toBe('BadSignature');
    const offCurve = Buffer.from(raw);
    offCurve[63] = (offCurve[63] ?? 0) ^ 1;
    expect(run(sig, offCurve.toString('base64'))).toBe('BadSignature');
    expect(run(sig, Buffer.alloc(64).toString('base64'))).toBe('BadSignature');
  });

  it('the signature is over the canonical bytes, not the received ones', () => {
    const pretty = utf8(JSON.stringify(JSON.parse(Buffer.from(doc).toString()), null, 4));
    expect(leftKind(verifyRevocations(pretty, sig, trusted(key), { now: '2026-04-28T10:00:00Z', freshnessWindowSecs: 60 }))).toBe('Ok');
  });
});

// The derived signed vectors (upstream harness key) verify, and every
// single-byte flip, truncation and payload edit of them fails with the class
// upstream gives: Parse when the bytes stop being UTF-8 JSON, BadSignature when
// they stay JSON but canonicalize differently.
import * as E from 'fp-ts/Either';
import { activeKeysAt, parseTrustConfig } from '../../src/codecs/trust-config';
import type { Timestamp } from '../../src/codecs/timestamp';
import { canonicalHashFromBytes, rolloutIdOf, verifyFleetResolved, verifyRevocations, verifyRolloutManifest, type TrustedKey, type VerifyOptions } from '../../src/trust';
import { leftKind, right, utf8, vectorBytes, vectorText } from './support';

const H = 'derived/nixfleet-harness';
const harnessKey: TrustedKey[] = [{ algorithm: 'ed25519', public: vectorText(`${H}/pubkey.b64`) }];

type Verify = (a: Uint8Array, s: Uint8Array, k: readonly TrustedKey[], o: VerifyOptions) => E.Either<{ kind: string }, unknown>;

interface SignedVector {
  readonly name: string;
  readonly artifact: string;
  readonly verify: Verify;
  readonly now: string;
}

const vectors: SignedVector[] = [
  { name: 'rollout manifest', artifact: `${H}/rollout-manifest/manifest.canonical.json`, verify: verifyRolloutManifest, now: '2026-05-01T00:30:00Z' },
  { name: 'revocations', artifact: `${H}/revocations/revocations.json`, verify: verifyRevocations, now: '2026-05-01T00:30:00Z' },
  { name: 'fleet.resolved', artifact: `${H}/fleet-resolved/signed-artifact.canonical`, verify: verifyFleetResolved, now: '2026-04-24T10:30:00Z' },
];

// An independent oracle (not our parser or canonicalizer): JSON.parse with
// sorted keys, the recipe the reference gives for JS. The vectors hold no
// escapes, so no flip can make a lone-surrogate escape that JSON.parse allows.
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function oracleCanonical(bytes: Uint8Array): string | null {
  let value: unknown;
  try {
    value = JSON.parse(fatal.decode(bytes));
  } catch {
    return null;
  }
  const emit = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(emit).join(',')}]`
      : v !== null && typeof v === 'object'
        ? `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${emit((v as Record<string, unknown>)[k])}`)
            .join(',')}}`
        : JSON.stringify(v);
  return emit(value);
}

function expectedKind(mutated: Uint8Array, original: string): string {
  const c = oracleCanonical(mutated);
  return c === null ? 'Parse' : c === original ? 'Ok' : 'BadSignature';
}

describe.each(vectors)('derived vector: $name', ({ artifact, verify, now }) => {
  const bytes = vectorBytes(artifact);
  const sig = vectorBytes(`${artifact}.sig`);
  const canonical = vectorText(artifact);
  const opts = { now, freshnessWindowSecs: 3600 };
  const run = (a: Uint8Array, s: Uint8Array = sig) => leftKind(verify(a, s, harnessKey, opts));

  it('verifies with the harness key', () => {
    expect(run(bytes)).toBe('Ok');
  });

  it('verifies through the harness trust.json (active keys at now)', () => {
    const trust = right(parseTrustConfig(vectorBytes(`${H}/rollout-manifest/trust.json`)));
    expect(leftKind(verify(bytes, sig, activeKeysAt(trust.ciReleaseKey, now as Timestamp), opts))).toBe('Ok');
  });

  it('still verifies when pretty-printed with keys reordered (the canonical form is signed)', () => {
    const doc = JSON.parse(canonical) as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    expect(run(utf8(JSON.stringify(reordered, null, 2) + '\n'))).toBe('Ok');
  });

  it('every single-byte flip of the artifact fails with the right class', () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x20, 0x80]) {
        const m = Uint8Array.from(bytes);
        m[i] = (m[i] ?? 0) ^ mask;
        const want = expectedKind(m, canonical);
        const got = run(m);
        if (got !== want) throw new Error(`byte ${i} ^ ${mask}: expected ${want}, got ${got}`);
        counts[got] = (counts[got] ?? 0) + 1;
      }
    }
    expect(counts['Parse']).toBeGreaterThan(0);
    expect(counts['BadSignature']).toBeGreaterThan(0);
  });

  it('every truncation of the artifact is a Parse error', () => {
    for (let n = 0; n < bytes.length; n++) expect([n, run(bytes.subarray(0, n))]).toEqual([n, 'Parse']);
  });

  it('every single-byte flip and every truncation of the signature is BadSignature', () => {
    for (let i = 0; i < sig.length; i++) {
      const m = Uint8Array.from(sig);
      m[i] = (m[i] ?? 0) ^ 0x01;
      expect([i, run(bytes, m)]).toEqual([i, 'BadSignature']);
    }
    for (let n = 0; n < sig.length; n++) expect(run(bytes, sig.subarray(0, n))).toBe('BadSignature');
    expect(run(bytes, Uint8Array.from([...sig, 0]))).toBe('BadSignature');
  });

  it('payload edits that keep valid JSON are BadSignature', () => {
    const edits: ((d: Record<string, any>) => void)[] = [
      (d) => (d['meta'].signedAt = '2026-05-01T00:00:01Z'),
      (d) => (d['meta'].ciCommit = 'feedface'),
      (d) => (d['meta'].signatureAlgorithm = 'ecdsa-p256'),
      (d) => (d['schemaVersion'] = 2),
      (d) => (d['unknownButSigned'] = true),
      (d) => delete d['meta'].signatureAlgorithm,
      (d) => (d['meta'].schemaVersion = 1.5),
    ];
    for (const edit of edits) {
      const d = JSON.parse(canonical) as Record<string, any>;
      edit(d);
      expect(run(utf8(JSON.stringify(d)))).toBe('BadSignature');
    }
  });

  it('garbage signatures and empty artifacts fail without throwing', () => {
    expect(run(new Uint8Array(0), new Uint8Array(0))).toBe('Parse');
    expect(run(bytes, new Uint8Array(64))).toBe('BadSignature');
    expect(run(bytes, new Uint8Array(64).fill(0xff))).toBe('BadSignature');
  });
});

describe('derived vectors: specific payloads', () => {
  it('manifest: host edits and host-set order are covered by the signature', () => {
    const a = `${H}/rollout-manifest/manifest.canonical.json`;
    const sig = vectorBytes(`${a}.sig`);
    const opts = { now: '2026-05-01T00:30:00Z', freshnessWindowSecs: 3600 };
    const edit = (f: (d: any) => void): string => {
      const d = JSON.parse(vectorText(a));
      f(d);
      return leftKind(verifyRolloutManifest(utf8(JSON.stringify(d)), sig, harnessKey, opts));
    };
    expect(edit((d) => (d.hostSet[0].targetClosure = 'evil'))).toBe('BadSignature');
    expect(edit((d) => d.hostSet.reverse())).toBe('BadSignature');
    expect(edit((d) => (d.channelRef = 'def4567abc123def4567abc123def4567abc123e'))).toBe('BadSignature');
  });

  it('manifest: the id recomputed from the parsed manifest is the published one', () => {
    const a = `${H}/rollout-manifest/manifest.canonical.json`;
    const v = right(verifyRolloutManifest(vectorBytes(a), vectorBytes(`${a}.sig`), harnessKey, { now: '2026-05-01T00:30:00Z', freshnessWindowSecs: 3600 }));
    expect(rolloutIdOf(v.payload)).toBe(vectorText(`${H}/rollout-manifest/rollout-id`));
    expect(v.signedAt).toBe(vectorText(`${H}/rollout-manifest/signed-at`));
    expect(right(canonicalHashFromBytes(vectorBytes(a)))).toBe('ebd2822640d364da9fe76c52fd6659f605ce3da1afbfae6167b36c3c0edc094b');
  });

  it('revocations: the typed payload', () => {
    const a = `${H}/revocations/revocations.json`;
    const v = right(verifyRevocations(vectorBytes(a), vectorBytes(`${a}.sig`), harnessKey, { now: '2026-05-01T00:30:00Z', freshnessWindowSecs: 3600 }));
    expect(v.payload.revocations).toEqual([
      { hostname: 'decommissioned-laptop', notBefore: '2026-04-15T00:00:00Z', reason: 'harness fixture: revoked-cert recovery test', revokedBy: 'harness' },
    ]);
  });

  it('fleet: a valid signature over an unsigned document is NotSigned', () => {
    const a = `${H}/fleet-resolved/every-nullable.canonical`;
    expect(leftKind(verifyFleetResolved(vectorBytes(a), vectorBytes(`${a}.sig`), harnessKey, { now: '2026-04-24T10:30:00Z', freshnessWindowSecs: 3600 }))).toBe('NotSigned');
  });

  it('fleet: the verified value carries the canonical hash of the received bytes (the manifests’ anchor)', () => {
    const a = `${H}/fleet-resolved/signed-artifact.canonical`;
    const v = right(verifyFleetResolved(vectorBytes(a), vectorBytes(`${a}.sig`), harnessKey, { now: '2026-04-24T10:30:00Z', freshnessWindowSecs: 3600 }));
    expect(v.canonicalSha256).toBe(right(canonicalHashFromBytes(vectorBytes('upstream/nixfleet-proto/signed-artifact.json'))));
    expect(v.canonicalSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the harness key is not trusted for a different key list', () => {
    const a = `${H}/revocations/revocations.json`;
    const other = [{ algorithm: 'ed25519', public: Buffer.alloc(32, 7).toString('base64') }];
    expect(leftKind(verifyRevocations(vectorBytes(a), vectorBytes(`${a}.sig`), other, { now: '2026-05-01T00:30:00Z', freshnessWindowSecs: 3600 }))).toBe('BadSignature');
  });
});

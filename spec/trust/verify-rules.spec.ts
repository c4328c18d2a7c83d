// Verification rules with keys generated here: upstream's verify tests, the
// freshness-boundary table, rejectBefore, key rotation, unknown algorithms,
// the order of checks, and options that are not usable.
import * as E from 'fp-ts/Either';
import { activeKeysAt, type KeySlot } from '../../src/codecs/trust-config';
import { addSeconds, type Timestamp } from '../../src/codecs/timestamp';
import { verifyBootstrapNonces, verifyFleetResolved, verifyRevocations, verifyRolloutManifest, type TrustedKey, type VerifyOptions } from '../../src/trust';
import { canonicalBytes, ed25519Key, leftKind, p256Key, right, trusted, utf8, vectorText, withMeta } from './support';

const fleetText = vectorText('upstream/nixfleet-proto/signed-artifact.json');
const SIGNED_AT = '2026-04-24T10:00:00Z' as Timestamp;
const HOURS_3 = 3 * 3600;
const at = (secs: number): string => addSeconds(SIGNED_AT, secs);

describe.each([
  ['ed25519', ed25519Key],
  ['ecdsa-p256', p256Key],
] as const)('upstream verify tests (signed-artifact.json, %s key)', (_alg, makeKey) => {
  const key = makeKey();
  const bytes = canonicalBytes(fleetText);
  const sig = key.sign(bytes);
  const verify = (now: string, windowSecs: number, rejectBefore?: string) =>
    leftKind(verifyFleetResolved(bytes, sig, trusted(key), rejectBefore === undefined ? { now, freshnessWindowSecs: windowSecs } : { now, freshnessWindowSecs: windowSecs, rejectBefore }));

  it.each([
    ['signedAt + 30 min, window 3 h', 'Ok', at(1800), HOURS_3],
    ['signedAt + 4 h, window 3 h', 'Stale', at(4 * 3600), HOURS_3],
    ['signedAt + 3 h + 61 s', 'Stale', at(HOURS_3 + 61), HOURS_3],
    ['signedAt + 3 h', 'Ok', at(HOURS_3), HOURS_3],
    ['signedAt + 3 h + 30 s', 'Ok', at(HOURS_3 + 30), HOURS_3],
    ['signedAt - 2 days, window 1 day', 'FutureDated', at(-2 * 86400), 86400],
    ['signedAt - 30 s', 'Ok', at(-30), HOURS_3],
  ] as const)('%s -> %s', (_name, want, now, window) => {
    expect(verify(now, window)).toBe(want);
  });

  it('rejectBefore = signedAt + 60 s -> RejectedBeforeTimestamp; = signedAt -> Ok', () => {
    expect(verify(at(1800), HOURS_3, at(60))).toBe('RejectedBeforeTimestamp');
    expect(verify(at(1800), HOURS_3, SIGNED_AT)).toBe('Ok');
  });

  it('schemaVersion 2, re-signed -> SchemaVersionUnsupported(2)', () => {
    const v2 = withMeta(fleetText, (d) => (d['schemaVersion'] = 2));
    const r = verifyFleetResolved(v2, key.sign(v2), trusted(key), { now: at(1800), freshnessWindowSecs: HOURS_3 });
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'SchemaVersionUnsupported', version: 2 });
  });
});

describe('freshness boundaries (nanosecond precision)', () => {
  const key = ed25519Key();
  const W = 3600;
  const signedAt = '2026-05-19T14:34:04.427227571Z' as Timestamp;
  const doc = withMeta(fleetText, (d) => (d['meta'].signedAt = signedAt));
  const sig = key.sign(doc);
  const run = (now: string, rejectBefore?: string) => {
    const opts = rejectBefore === undefined ? { now, freshnessWindowSecs: W } : { now, freshnessWindowSecs: W, rejectBefore };
    return verifyFleetResolved(doc, sig, trusted(key), opts);
  };
  const plus = (s: number) => addSeconds(signedAt, s);

  it.each([
    ['exactly the window', 'Ok', plus(W)],
    ['window + 60 s', 'Ok', plus(W + 60)],
    ['window + 60 s + 1 ns', 'Stale', plus(W + 60 + 1e-9)],
    ['window + 60.001 s', 'Stale', plus(W + 60.001)],
    ['60 s in the future', 'Ok', plus(-60)],
    ['60 s + 1 ns in the future', 'FutureDated', plus(-60 - 1e-9)],
    ['60.001 s in the future', 'FutureDated', plus(-60.001)],
    ['same instant', 'Ok', signedAt],
  ] as const)('%s -> %s', (_name, want, now) => {
    expect(leftKind(run(now))).toBe(want);
  });

  it('the window is the caller’s: a zero window still allows 60 s of slack', () => {
    const r = (now: string, w: number) => leftKind(verifyFleetResolved(doc, sig, trusted(key), { now, freshnessWindowSecs: w }));
    expect(r(plus(60), 0)).toBe('Ok');
    expect(r(plus(60.001), 0)).toBe('Stale');
    expect(r(plus(400 * 86400), 365 * 86400)).toBe('Stale');
    expect(r(plus(300 * 86400), 365 * 86400)).toBe('Ok');
  });

  it.each([
    ['rejectBefore equal to signedAt', 'Ok', signedAt],
    ['rejectBefore 1 ns later', 'RejectedBeforeTimestamp', plus(1e-9)],
    ['rejectBefore 1 s later', 'RejectedBeforeTimestamp', plus(1)],
    ['rejectBefore earlier', 'Ok', plus(-1)],
    ['rejectBefore in another offset, equal instant', 'Ok', '2026-05-19T16:34:04.427227571+02:00'],
  ] as const)('%s -> %s', (_name, want, rb) => {
    expect(leftKind(run(plus(10), rb))).toBe(want);
  });

  it('rejectBefore is checked before freshness (a compromise is not reported as staleness)', () => {
    expect(leftKind(run(plus(10 * 86400), plus(1)))).toBe('RejectedBeforeTimestamp');
    expect(leftKind(run(plus(-86400), plus(1)))).toBe('RejectedBeforeTimestamp');
  });

  it('errors carry the instants and the window', () => {
    const r = run(plus(W + 61));
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'Stale', signedAt, now: plus(W + 61), windowSecs: W });
    const f = run(plus(-61));
    expect(E.isLeft(f) && f.left).toMatchObject({ kind: 'FutureDated', signedAt, slackSecs: 60 });
    expect(E.isLeft(f) && f.left.message).toMatch(/more than 60s ahead/);
  });
});

describe('key rotation order and algorithms', () => {
  const [cur, prev, succ, stranger] = [ed25519Key(), p256Key(), ed25519Key(), ed25519Key()];
  const bytes = canonicalBytes(fleetText);
  const opts = { now: at(60), freshnessWindowSecs: 3600 };
  const run = (keys: readonly { algorithm: string; public: string }[], sig: Uint8Array) => leftKind(verifyFleetResolved(bytes, sig, keys, opts));
  const slot: KeySlot = { ...trustedSlot(), retireAt: at(3600) as Timestamp };

  function trustedSlot() {
    const one = (k: { algorithm: string; public: string }) => ({ algorithm: k.algorithm, public: k.public });
    return { current: one(cur), previous: one(prev), successor: one(succ) };
  }

  it('current, previous and (before retireAt) successor each verify; a stranger does not', () => {
    const keys = activeKeysAt(slot, at(60) as Timestamp);
    expect(run(keys, cur.sign(bytes))).toBe('Ok');
    expect(run(keys, prev.sign(bytes))).toBe('Ok');
    expect(run(keys, succ.sign(bytes))).toBe('Ok');
    expect(run(keys, stranger.sign(bytes))).toBe('BadSignature');
  });

  it('the successor stops verifying at retireAt', () => {
    expect(run(activeKeysAt(slot, at(3600) as Timestamp), succ.sign(bytes))).toBe('BadSignature');
  });

  it('unknown algorithms are skipped; with none known the first key’s algorithm is reported', () => {
    const sig = cur.sign(bytes);
    const r = verifyFleetResolved(bytes, sig, [{ algorithm: 'rsa-4096', public: cur.public }, { algorithm: 'ed448', public: 'x' }], opts);
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'UnsupportedAlgorithm', algorithm: 'rsa-4096' });
    expect(run([{ algorithm: 'rsa-4096', public: 'x' }, ...trusted(cur)], sig)).toBe('Ok');
    expect(run([{ algorithm: 'rsa-4096', public: 'x' }, ...trusted(stranger)], sig)).toBe('BadSignature');
    // Algorithm names are exact: upstream matches the string.
    expect(run([{ algorithm: 'Ed25519', public: cur.public }], sig)).toBe('UnsupportedAlgorithm');
  });

  it('the algorithm is the key’s, never the artifact’s: an ed25519 key does not verify a P-256 signature', () => {
    expect(run([{ algorithm: 'ed25519', public: prev.public }], prev.sign(bytes))).toBe('BadSignature');
    expect(run([{ algorithm: 'ecdsa-p256', public: cur.public }], cur.sign(bytes))).toBe('BadSignature');
  });

  it('malformed key material just fails to match', () => {
    const sig = cur.sign(bytes);
    const raw = Buffer.from(cur.public, 'base64');
    for (const pub of [
      cur.public.replace(/=$/, ''), // missing padding
      ` ${cur.public}`,
      raw.toString('base64url'),
      Buffer.concat([raw, Buffer.from([0])]).toString('base64'),
      raw.subarray(1).toString('base64'),
      '',
      'PLACEHOLDER_PUBKEY_BASE64',
    ]) {
      expect([pub, run([{ algorithm: 'ed25519', public: pub }], sig)]).toEqual([pub, 'BadSignature']);
    }
    expect(run([{ algorithm: 'ed25519', public: 'garbage' }, ...trusted(cur)], sig)).toBe('Ok');
  });
});

describe('order of checks', () => {
  const key = ed25519Key();
  const opts = { now: '2026-05-01T00:00:00Z', freshnessWindowSecs: 3600 };

  it('NoTrustRoots comes before looking at the bytes', () => {
    expect(leftKind(verifyFleetResolved(Uint8Array.from([0xff]), new Uint8Array(), [], opts))).toBe('NoTrustRoots');
  });

  it('Parse (bytes) comes before the algorithm check and the signature', () => {
    expect(leftKind(verifyFleetResolved(utf8('not json'), new Uint8Array(64), [{ algorithm: 'rsa', public: '' }], opts))).toBe('Parse');
    expect(leftKind(verifyFleetResolved(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), new Uint8Array(64), trusted(key), opts))).toBe('Parse');
  });

  it('BadSignature comes before the typed parse; Parse (typed) before schemaVersion', () => {
    const wrongShape = canonicalBytes('{"schemaVersion":2,"hello":"world"}');
    expect(leftKind(verifyFleetResolved(wrongShape, new Uint8Array(64), trusted(key), opts))).toBe('BadSignature');
    const r = verifyFleetResolved(wrongShape, key.sign(wrongShape), trusted(key), opts);
    expect(E.isLeft(r) && r.left.kind).toBe('Parse');
    expect(E.isLeft(r) && r.left.message).toMatch(/hosts: missing required field/);
  });

  it('SchemaVersionUnsupported comes before NotSigned', () => {
    const doc = canonicalBytes(JSON.stringify({ schemaVersion: 3, revocations: [], meta: { schemaVersion: 1, signedAt: null } }));
    expect(leftKind(verifyRevocations(doc, key.sign(doc), trusted(key), opts))).toBe('SchemaVersionUnsupported');
  });

  it('the typed parse reads the canonical form: 1.0 in the received bytes is the integer 1', () => {
    const text = '{"schemaVersion":1.0,"revocations":[],"meta":{"schemaVersion":1e0,"signedAt":"2026-05-01T00:00:00Z"}}';
    const sig = key.sign(canonicalBytes(text));
    expect(leftKind(verifyRevocations(utf8(text), sig, trusted(key), opts))).toBe('Ok');
  });

  it('meta.schemaVersion is parsed but not checked', () => {
    const doc = canonicalBytes(JSON.stringify({ schemaVersion: 1, revocations: [], meta: { schemaVersion: 7, signedAt: '2026-05-01T00:00:00Z' } }));
    expect(leftKind(verifyRevocations(doc, key.sign(doc), trusted(key), opts))).toBe('Ok');
  });
});

describe('other artifacts and the Verified value', () => {
  const key = ed25519Key();
  const opts = { now: '2026-05-01T00:10:00Z', freshnessWindowSecs: 3600 };

  it('upstream revocation and manifest fixtures, signed here', () => {
    type AnyVerify = (a: Uint8Array, s: Uint8Array, k: readonly TrustedKey[], o: VerifyOptions) => E.Either<{ kind: string }, unknown>;
    const table: [string, AnyVerify, string][] = [
      ['verify_revocations.FIXTURE_REVOCATIONS.json', verifyRevocations, '2026-04-28T10:30:00Z'],
      ['verify_revocations.empty-list.json', verifyRevocations, '2026-04-28T10:05:00Z'],
      ['verify_rollout_manifest.FIXTURE_MANIFEST.json', verifyRolloutManifest, '2026-04-30T12:30:00Z'],
    ];
    for (const [file, verify, id] of table) {
      const doc = canonicalBytes(vectorText(`upstream/extracted-inline/${file}`));
      const sig = key.sign(doc);
      expect([file, leftKind(verify(doc, sig, trusted(key), { now: id, freshnessWindowSecs: 3600 }))]).toEqual([file, 'Ok']);
      expect(leftKind(verify(doc, sig, trusted(key), { now: addSeconds(id as Timestamp, 4 * 3600 - 1800), freshnessWindowSecs: 3600 }))).toBe('Stale');
      const flipped = Uint8Array.from(sig);
      flipped[0] = (flipped[0] ?? 0) ^ 1;
      expect(leftKind(verify(doc, flipped, trusted(key), { now: id, freshnessWindowSecs: 3600 }))).toBe('BadSignature');
      expect(leftKind(verify(doc, sig, [], { now: id, freshnessWindowSecs: 3600 }))).toBe('NoTrustRoots');
    }
    for (const file of ['verify_revocations.unsigned.json', 'verify_rollout_manifest.unsigned.json']) {
      const doc = canonicalBytes(vectorText(`upstream/extracted-inline/${file}`));
      const r = file.startsWith('verify_revocations') ? verifyRevocations(doc, key.sign(doc), trusted(key), opts) : verifyRolloutManifest(doc, key.sign(doc), trusted(key), opts);
      expect(E.isLeft(r) && r.left.kind).toBe('NotSigned');
    }
  });

  it('the FIXTURE_MANIFEST rejectBefore case (signedAt + 1 s)', () => {
    const doc = canonicalBytes(vectorText('upstream/extracted-inline/verify_rollout_manifest.FIXTURE_MANIFEST.json'));
    const r = verifyRolloutManifest(doc, key.sign(doc), trusted(key), { now: '2026-04-30T12:30:00Z', freshnessWindowSecs: 3 * 3600, rejectBefore: '2026-04-30T12:00:01Z' });
    expect(leftKind(r)).toBe('RejectedBeforeTimestamp');
  });

  it('bootstrap nonces verify the same way', () => {
    const doc = canonicalBytes(
      JSON.stringify({ schemaVersion: 1, bootstrapNonces: [{ nonce: 'ab'.repeat(16), hostname: 'web-01', expiresAt: '2026-06-01T00:00:00Z' }], meta: { schemaVersion: 1, signedAt: '2026-05-01T00:00:00Z' } }),
    );
    const v = right(verifyBootstrapNonces(doc, key.sign(doc), trusted(key), opts));
    expect(v.payload.bootstrapNonces[0]?.hostname).toBe('web-01');
  });

  it('the fleet is normalised after verification: all-at-once without waves gets one match-all wave', () => {
    const doc = withMeta(fleetText, (d) => {
      d['rolloutPolicies'] = { quick: { strategy: 'all-at-once', waves: [], onHealthFailure: 'halt' } };
      d['meta'].signedAt = '2026-05-01T00:00:00Z';
    });
    const v = right(verifyFleetResolved(doc, key.sign(doc), trusted(key), opts));
    expect(v.payload.rolloutPolicies['quick']?.waves).toEqual([{ selector: { tags: [], tagsAny: [], hosts: [], channel: null, all: true }, soakMinutes: 0 }]);
    expect(v.signedAt).toBe('2026-05-01T00:00:00Z');
  });
});

describe('unusable options are a typed Left, never an exception', () => {
  const key = ed25519Key();
  const doc = canonicalBytes(fleetText);
  const sig = key.sign(doc);
  it.each([
    ['bad now', { now: 'now', freshnessWindowSecs: 1 }],
    ['negative window', { now: SIGNED_AT, freshnessWindowSecs: -1 }],
    ['fractional window', { now: SIGNED_AT, freshnessWindowSecs: 1.5 }],
    ['NaN window', { now: SIGNED_AT, freshnessWindowSecs: NaN }],
    ['bad rejectBefore', { now: SIGNED_AT, freshnessWindowSecs: 1, rejectBefore: '2026-13-01T00:00:00Z' }],
  ])('%s', (_name, opts) => {
    expect(leftKind(verifyFleetResolved(doc, sig, trusted(key), opts))).toBe('InvalidArgument');
  });

  it('non-byte inputs and non-array keys', () => {
    expect(leftKind(verifyFleetResolved('x' as unknown as Uint8Array, sig, trusted(key), { now: SIGNED_AT, freshnessWindowSecs: 1 }))).toBe('InvalidArgument');
    expect(leftKind(verifyFleetResolved(doc, sig, null as unknown as [], { now: SIGNED_AT, freshnessWindowSecs: 1 }))).toBe('InvalidArgument');
    expect(leftKind(verifyFleetResolved(doc, sig, [null, 7] as unknown as [], { now: SIGNED_AT, freshnessWindowSecs: 1 }))).toBe('UnsupportedAlgorithm');
  });
});

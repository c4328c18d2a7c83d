import * as E from 'fp-ts/Either';
import { activeKeys, activeKeysAt, parseTrustConfig, type TrustConfig } from '../../src/codecs/trust-config';
import type { Timestamp } from '../../src/codecs/timestamp';
import { verifyFleetResolved } from '../../src/trust';
import { ed25519Key, leftKind, right, vectorBytes, vectorText } from './support';

const inline = (name: string): string => vectorText(`upstream/extracted-inline/${name}`);
const parse = (text: string): TrustConfig => right(parseTrustConfig(text));
const ts = (s: string): Timestamp => s as Timestamp;

describe('trust.json vectors (upstream extracted-inline)', () => {
  it('minimum shape parses; current is the placeholder ed25519 key; no org root', () => {
    const c = parse(inline('trust_config.minimum-shape.json'));
    expect(c.schemaVersion).toBe(1);
    expect(c.ciReleaseKey.current).toEqual({ algorithm: 'ed25519', public: 'AAAA' });
    expect(c.ciReleaseKey.previous).toBeUndefined();
    expect(c.orgRootKey).toBeUndefined();
    expect(c.cacheKeys).toEqual([]);
  });

  it('omitted cacheKeys default to [] and an empty slot has no active keys', () => {
    const c = parse(inline('trust_config.omitted-cache-keys.json'));
    expect(c.cacheKeys).toEqual([]);
    expect(activeKeysAt(c.ciReleaseKey, ts('2026-05-01T00:00:00Z'))).toEqual([]);
    const sig = new Uint8Array(64);
    expect(leftKind(verifyFleetResolved(new Uint8Array(), sig, activeKeys(c.ciReleaseKey), { now: '2026-05-01T00:00:00Z', freshnessWindowSecs: 3600 }))).toBe('NoTrustRoots');
  });

  it('opaque cache keys are kept verbatim', () => {
    expect(parse(inline('trust_config.opaque-cache-keys.json')).cacheKeys).toEqual([
      'cache.example.com:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      'attic:cache.example.com:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=',
    ]);
  });

  it('a file without schemaVersion is a parse error naming the field', () => {
    const r = parseTrustConfig(inline('trust_config.missing-schema-version.json'));
    expect(E.isLeft(r) && r.left.kind).toBe('DecodeError');
    expect(E.isLeft(r) && r.left.message).toMatch(/schemaVersion: missing required field/);
  });

  it('org root key in the Nix emitter shape', () => {
    expect(parse(inline('trust_config.org-root-populated.json')).orgRootKey?.current).toEqual({ algorithm: 'ed25519', public: 'BBBB' });
  });

  it('harness-shaped and agent-test trust files parse', () => {
    expect(parse(inline('parse_fixture_trust.test-trust.json')).ciReleaseKey.current?.public).toBe('PLACEHOLDER_PUBKEY_BASE64');
    expect(parse(inline('manifest_cache.minimal-trust.json')).ciReleaseKey.current?.public).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    expect(right(parseTrustConfig(vectorBytes('derived/nixfleet-harness/rollout-manifest/trust.json'))).ciReleaseKey.current?.public).toBe(
      vectorText('derived/nixfleet-harness/pubkey.b64'),
    );
  });
});

describe('trust.json typed parse', () => {
  const base = { schemaVersion: 1, ciReleaseKey: {} };
  const parseObj = (o: unknown) => parseTrustConfig(JSON.stringify(o));

  it('ciReleaseKey is required and must be an object (null is an error)', () => {
    expect(E.isLeft(parseObj({ schemaVersion: 1 }))).toBe(true);
    expect(E.isLeft(parseObj({ schemaVersion: 1, ciReleaseKey: null }))).toBe(true);
    expect(E.isRight(parseObj(base))).toBe(true);
  });

  it('refuses a schemaVersion other than 1 with its own error', () => {
    const r = parseObj({ ...base, schemaVersion: 2 });
    expect(E.isLeft(r) && r.left.kind).toBe('TrustSchemaVersionUnsupported');
  });

  it('ignores unknown members and keeps unknown algorithms as strings', () => {
    const c = right(parseObj({ ...base, extra: 1, ciReleaseKey: { current: { algorithm: 'rsa-4096', public: 'x', extra: true }, later: 1 } }));
    expect(c.ciReleaseKey.current).toEqual({ algorithm: 'rsa-4096', public: 'x' });
  });

  it('cacheKeys: null is a type error (serde default only covers a missing member)', () => {
    expect(E.isLeft(parseObj({ ...base, cacheKeys: null }))).toBe(true);
  });

  it('reads rejectBefore at nanosecond precision and refuses a bad timestamp', () => {
    expect(right(parseObj({ ...base, ciReleaseKey: { rejectBefore: '2026-05-19T14:34:04.427227571+00:00' } })).ciReleaseKey.rejectBefore).toBe(
      '2026-05-19T14:34:04.427227571Z',
    );
    expect(E.isLeft(parseObj({ ...base, ciReleaseKey: { rejectBefore: 'yesterday' } }))).toBe(true);
  });

  it('accepts both spellings of the certificate fields and never fails on the unread one', () => {
    expect(right(parseObj({ ...base, rootCAPem: 'PEM', issuanceCAPems: ['A'] }))).toMatchObject({ rootCaPem: 'PEM', issuanceCaPems: ['A'] });
    expect(right(parseObj({ ...base, rootCaPem: 'X', rootCAPem: 'Y' })).rootCaPem).toBe('X');
    // Upstream ignores `rootCAPem` entirely, so a malformed one must not fail the file.
    expect(right(parseObj({ ...base, rootCAPem: 42, issuanceCAPems: 'nope' }))).toMatchObject({ issuanceCaPems: [] });
    expect(E.isLeft(parseObj({ ...base, rootCaPem: 42 }))).toBe(true);
  });

  it('refuses bytes that are not UTF-8 or JSON without throwing', () => {
    expect(E.isLeft(parseTrustConfig(Uint8Array.from([0xff])))).toBe(true);
    expect(E.isLeft(parseTrustConfig('{'))).toBe(true);
  });
});

describe('active keys (rotation order)', () => {
  const pub = () => {
    const k = ed25519Key();
    return { algorithm: k.algorithm, public: k.public };
  };
  const [a, b, s] = [pub(), pub(), pub()] as const;
  const slot = { current: a, previous: b, successor: s, retireAt: ts('2026-06-01T00:00:00Z') };

  it('current, previous, then successor strictly before retireAt', () => {
    expect(activeKeysAt(slot, ts('2026-05-31T23:59:59.999999999Z'))).toEqual([a, b, s]);
    expect(activeKeysAt(slot, ts('2026-06-01T00:00:00Z'))).toEqual([a, b]);
    expect(activeKeysAt(slot, ts('2026-06-02T00:00:00Z'))).toEqual([a, b]);
    expect(activeKeys(slot)).toEqual([a, b]);
  });

  it('a successor without retireAt is ignored; previous without current is still tried', () => {
    expect(activeKeysAt({ current: a, successor: s }, ts('2026-01-01T00:00:00Z'))).toEqual([a]);
    expect(activeKeysAt({ previous: b }, ts('2026-01-01T00:00:00Z'))).toEqual([b]);
  });
});

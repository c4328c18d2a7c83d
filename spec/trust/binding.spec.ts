// Rollout-manifest binding (id, path safety, membership, closure, fleet
// anchor) and the agent's dispatch-time freshness re-check.
import * as E from 'fp-ts/Either';
import { RolloutManifest } from '../../src/codecs/artifacts';
import { decodeWith } from '../../src/codecs/decode';
import { addSeconds, type Timestamp } from '../../src/codecs/timestamp';
import {
  assertFleetAnchor,
  assertMembership,
  assertRolloutIdMatches,
  assertTargetClosure,
  canonicalHashFromBytes,
  checkSignedAt,
  DEFAULT_FRESHNESS_WINDOW_SECS,
  validateRolloutIdForPath,
} from '../../src/trust';
import { right, utf8, vectorBytes, vectorText } from './support';

const manifest = right(decodeWith(RolloutManifest, JSON.parse(vectorText('derived/nixfleet-harness/rollout-manifest/manifest.canonical.json'))));
const ID = vectorText('derived/nixfleet-harness/rollout-manifest/rollout-id');
const kindOf = (e: E.Either<{ kind: string }, unknown>) => (E.isLeft(e) ? e.left.kind : 'Ok');

describe('rollout id binding', () => {
  it('the id recomputed from channel and channelRef must equal the one asked for', () => {
    expect(kindOf(assertRolloutIdMatches(manifest, ID))).toBe('Ok');
    expect(kindOf(assertRolloutIdMatches(manifest, 'edge@def4567abc123def4567abc123def4567abc123d'))).toBe('Mismatch');
    // The legacy content-hash id is refused by the new check.
    expect(kindOf(assertRolloutIdMatches(manifest, 'ebd2822640d364da9fe76c52fd6659f605ce3da1afbfae6167b36c3c0edc094b'))).toBe('Mismatch');
    // Only channel and channelRef matter: other fields do not change the id.
    expect(kindOf(assertRolloutIdMatches({ ...manifest, displayName: 'x', hostSet: [] }, ID))).toBe('Ok');
  });

  it.each(['../etc/passwd', 'stable/../../x', 'a/b', 'stable@..', '..', 'a\\b', 'a\0b', ''])('refuses the unsafe id %j before any file access', (id) => {
    const r = validateRolloutIdForPath(id);
    expect(E.isLeft(r) && r.left.kind).toBe('Mismatch');
  });

  it('accepts ordinary ids', () => {
    expect(validateRolloutIdForPath(ID)).toEqual(E.right(ID));
    expect(validateRolloutIdForPath('edge-slow@abc')).toEqual(E.right('edge-slow@abc'));
  });
});

describe('host membership and target closure', () => {
  it('(hostname, waveIndex) must be in the host set', () => {
    expect(kindOf(assertMembership(manifest, 'agent-02', 1))).toBe('Ok');
    expect(kindOf(assertMembership(manifest, 'agent-02', 0))).toBe('Mismatch');
    expect(kindOf(assertMembership(manifest, 'agent-03', 0))).toBe('Mismatch');
  });

  it('the dispatched closure must be the manifest’s for this host', () => {
    expect(kindOf(assertTargetClosure(manifest, 'agent-01', '0000000000000000000000000000000000000000-host-a'))).toBe('Ok');
    const wrong = assertTargetClosure(manifest, 'agent-01', '1111111111111111111111111111111111111111-host-b');
    expect(E.isLeft(wrong) && wrong.left).toMatchObject({ kind: 'Mismatch' });
    expect(E.isLeft(wrong) && wrong.left.reason).toMatch(/dispatch target_closure .* != manifest target_closure/);
    expect(kindOf(assertTargetClosure(manifest, 'stranger', 'x'))).toBe('Mismatch');
  });
});

describe('fleetResolvedHash anchor', () => {
  it('is SHA-256 of the canonical bytes of the received fleet, however it was laid out', () => {
    const canonical = vectorBytes('upstream/nixfleet-proto/signed-artifact.canonical');
    const hash = right(canonicalHashFromBytes(canonical));
    expect(right(canonicalHashFromBytes(vectorBytes('upstream/nixfleet-proto/signed-artifact.json')))).toBe(hash);
    expect(kindOf(assertFleetAnchor({ ...manifest, fleetResolvedHash: hash }, hash))).toBe('Ok');
    expect(kindOf(assertFleetAnchor(manifest, hash))).toBe('Mismatch');
  });

  it('covers members the typed structs drop, and fails as Canonicalize on bad bytes', () => {
    const a = right(canonicalHashFromBytes(utf8('{"a":1}')));
    expect(right(canonicalHashFromBytes(utf8('{"a":1,"newField":true}')))).not.toBe(a);
    expect(E.isLeft(canonicalHashFromBytes(Uint8Array.from([0xff])))).toBe(true);
    const r = canonicalHashFromBytes(utf8('{'));
    expect(E.isLeft(r) && r.left.kind).toBe('Canonicalize');
  });
});

describe('dispatch-time freshness re-check (check_signed_at)', () => {
  const signedAt = '2026-05-01T00:00:00.5Z' as Timestamp;
  const now = (s: number) => addSeconds(signedAt, s);

  it('uses the configured window, not a hard-coded 3600 s', () => {
    const year = 365 * 86400;
    expect(kindOf(checkSignedAt(signedAt, year, now(30 * 86400)))).toBe('Ok');
    expect(kindOf(checkSignedAt(signedAt, DEFAULT_FRESHNESS_WINDOW_SECS, now(30 * 86400)))).toBe('StaleTarget');
  });

  it('stale iff whole-second age > window + 60 (truncated toward zero); future ages are fresh', () => {
    expect(checkSignedAt(signedAt, 3600, now(3660.999))).toEqual(E.right({ ageSecs: 3660 }));
    const stale = checkSignedAt(signedAt, 3600, now(3661));
    expect(E.isLeft(stale) && stale.left).toMatchObject({ kind: 'StaleTarget', ageSecs: 3661, freshnessWindowSecs: 3600 });
    expect(checkSignedAt(signedAt, 3600, now(-86400))).toEqual(E.right({ ageSecs: -86400 }));
  });
});

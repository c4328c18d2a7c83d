// Typed parse of the signed artifacts, as serde reads them.
import * as E from 'fp-ts/Either';
import { BootstrapNonces, ChannelEdge, Edge, FleetResolved, normalizeRolloutPolicies, Revocations, RolloutManifest, rolloutIdOf } from '../../src/codecs/artifacts';
import { decodeWith } from '../../src/codecs/decode';
import { canonicalize } from '../../src/codecs/jcs';
import { right, vectorText } from './support';

const fleet = (rel: string) => right(decodeWith(FleetResolved, JSON.parse(vectorText(rel))));

describe('fleet.resolved vectors', () => {
  it('every-nullable.json parses; the typed round trip gives upstream’s every-nullable.canonical', () => {
    const f = fleet('upstream/nixfleet-proto/every-nullable.json');
    expect(f.meta.signedAt).toBeNull();
    expect(f.hosts['h1']?.closureHash).toBeNull();
    expect(f.channels['stable']?.freshnessWindow).toBe(180);
    // Legacy `compliance` is dropped, `channelEdges: []` appears, nulls stay explicit.
    expect(canonicalize(FleetResolved.encode(f))).toBe(vectorText('upstream/nixfleet-proto/every-nullable.canonical'));
  });

  it('signed-artifact.json: typed round trip equals its canonical form', () => {
    const f = fleet('upstream/nixfleet-proto/signed-artifact.json');
    expect(f.meta).toEqual({ schemaVersion: 1, signedAt: '2026-04-24T10:00:00Z', ciCommit: 'deadbeef', signatureAlgorithm: 'ed25519' });
    expect(canonicalize(FleetResolved.encode(f))).toBe(vectorText('upstream/nixfleet-proto/signed-artifact.canonical'));
  });

  it('Nix evaluator outputs with members the Rust types do not model parse (pins, and/not, effectiveHealthChecks)', () => {
    const pinned = fleet('upstream/mk-fleet/pin-host-overrides-tag-and-channel.resolved.json');
    expect(pinned.hosts['web-01']?.pin).toEqual({ commit: 'host-level-abc1234', reason: 'investigating CVE-2026-9999' });
    expect('effectiveHealthChecks' in pinned).toBe(false);
    fleet('upstream/mk-fleet/health-checks-channel-scope.resolved.json');
    fleet('upstream/nixfleet-proto/stream-b/empty-selector-warns.resolved.json');
  });

  it('required members, wrong types and bad enums are path-and-reason errors', () => {
    const base = JSON.parse(vectorText('upstream/nixfleet-proto/signed-artifact.json'));
    const bad = (edit: (d: any) => void) => {
      const d = structuredClone(base);
      edit(d);
      const r = decodeWith(FleetResolved, d);
      if (E.isRight(r)) throw new Error('expected a decode error');
      return r.left.message;
    };
    expect(bad((d) => delete d.hosts)).toMatch(/\$\.hosts: missing required field/);
    expect(bad((d) => (d.channels.stable.freshnessWindow = -1))).toMatch(/freshnessWindow/);
    expect(bad((d) => (d.channels.stable.freshnessWindow = 2 ** 32))).toMatch(/freshnessWindow: expected an integer in \[0, 4294967295\]/);
    expect(bad((d) => (d.rolloutPolicies = null))).toMatch(/rolloutPolicies/);
    expect(bad((d) => (Object.values(d.rolloutPolicies as object)[0].onHealthFailure = 'explode'))).toMatch(/onHealthFailure/);
    expect(bad((d) => (d.meta.signedAt = '2026-02-30T00:00:00Z'))).toMatch(/signedAt/);
    expect(bad((d) => (d.edges = [{ before: 'a', after: 'b' }]))).toMatch(/edges\[0\]\.gated: missing required field/);
  });

  it('host edges refuse the pre-rename keys; channel edges accept them as aliases', () => {
    expect(E.isLeft(decodeWith(Edge, { before: 'a', after: 'b' }))).toBe(true);
    expect(right(decodeWith(ChannelEdge, { before: 'edge', after: 'stable', reason: 'test canary' }))).toEqual({ gates: 'edge', gated: 'stable', reason: 'test canary' });
    expect(right(decodeWith(ChannelEdge, { gates: 'edge', gated: 'stable' }))).toEqual({ gates: 'edge', gated: 'stable', reason: null });
    const dup = decodeWith(ChannelEdge, { gates: 'edge', before: 'x', gated: 'stable' });
    expect(E.isLeft(dup) && dup.left.message).toMatch(/duplicate field `gates`/);
  });

  it('normalisation adds the implicit wave only to all-at-once policies without waves', () => {
    const f = fleet('upstream/nixfleet-proto/signed-artifact.json');
    const policy = { strategy: 'all-at-once', waves: [], healthGate: {}, onHealthFailure: 'halt' as const };
    const canary = { ...policy, strategy: 'canary' };
    const withPolicies = { ...f, rolloutPolicies: { ['__proto__']: policy, fast: policy, canary } };
    const n = normalizeRolloutPolicies(withPolicies);
    expect(n.rolloutPolicies['fast']?.waves).toHaveLength(1);
    expect(Object.getOwnPropertyDescriptor(n.rolloutPolicies, '__proto__')?.value.waves).toHaveLength(1);
    expect(n.rolloutPolicies['canary']?.waves).toEqual([]);
    expect(withPolicies.rolloutPolicies.fast.waves).toEqual([]); // input untouched
    expect(normalizeRolloutPolicies(f)).toBe(f);
  });
});

describe('rollout manifests and revocations', () => {
  it('the upstream fixture parses (legacy complianceFrameworks ignored); its id is channel@channelRef', () => {
    const m = right(decodeWith(RolloutManifest, JSON.parse(vectorText('upstream/extracted-inline/verify_rollout_manifest.FIXTURE_MANIFEST.json'))));
    expect(rolloutIdOf(m)).toBe('stable@def4567abc123def4567abc123def4567abc123d');
    expect(m.disruptionBudgets).toEqual([]);
    expect('complianceFrameworks' in m).toBe(false);
  });

  it('healthGate is required in a manifest', () => {
    const d = JSON.parse(vectorText('upstream/extracted-inline/verify_rollout_manifest.FIXTURE_MANIFEST.json'));
    delete d.healthGate;
    const r = decodeWith(RolloutManifest, d);
    expect(E.isLeft(r) && r.left.message).toMatch(/healthGate: missing required field/);
  });

  it('revocation entries: reason and revokedBy are optional, notBefore is a timestamp', () => {
    const r = right(decodeWith(Revocations, JSON.parse(vectorText('upstream/extracted-inline/verify_revocations.FIXTURE_REVOCATIONS.json'))));
    expect(r.revocations[0]).toEqual({ hostname: 'old-laptop', notBefore: '2026-04-26T00:00:00Z', reason: 'decommissioned', revokedBy: 'operator' });
    const minimal = right(decodeWith(Revocations, { schemaVersion: 1, revocations: [{ hostname: 'h', notBefore: '2026-04-26T00:00:00Z' }], meta: { schemaVersion: 1 } }));
    expect(minimal.revocations[0]).toEqual({ hostname: 'h', notBefore: '2026-04-26T00:00:00Z', reason: null, revokedBy: null });
    expect(minimal.meta).toEqual({ schemaVersion: 1, signedAt: null, ciCommit: null });
    expect(E.isLeft(decodeWith(Revocations, { schemaVersion: 1, revocations: [{ hostname: 'h' }], meta: { schemaVersion: 1 } }))).toBe(true);
  });

  it('bootstrap nonces', () => {
    const n = right(
      decodeWith(BootstrapNonces, {
        schemaVersion: 1,
        bootstrapNonces: [{ nonce: 'n', hostname: 'h', expiresAt: '2026-06-01T00:00:00+02:00', mintedBy: 'op' }],
        meta: { schemaVersion: 1, signedAt: '2026-05-01T00:00:00Z' },
      }),
    );
    expect(n.bootstrapNonces[0]).toEqual({ nonce: 'n', hostname: 'h', expiresAt: '2026-05-31T22:00:00Z', mintedBy: 'op' });
  });
});

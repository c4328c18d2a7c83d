// Pre-parse bounds on signed artifacts (src/trust/artifact-limits.ts): a body
// over a limit is refused from its raw bytes — before UTF-8 decoding, the
// JSON parse or the signature — with the measure that was crossed, and a
// genuine fleet of upstream's design size passes all of them.
import * as E from 'fp-ts/Either';
import * as jcs from '../../src/codecs/jcs';
import { checkArtifactLimits, DEFAULT_ARTIFACT_LIMITS, MAX_ARTIFACT_BYTES, type ArtifactLimits } from '../../src/trust/artifact-limits';
import { verifyFleetResolved, verifyRolloutManifest } from '../../src/trust';
import { canonicalBytes, ed25519Key, right, trusted, utf8 } from './support';

const key = ed25519Key();
const NOW = '2026-04-24T10:10:00Z';
const opts = { now: NOW, freshnessWindowSecs: 3600 };
const BAD_SIG = new Uint8Array(64);

/** upstream's fleet.resolved shape, `n` hosts, each with a pin (the largest host entry the schema allows). */
function fleet(n: number): unknown {
  const hosts: Record<string, unknown> = {};
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = `web-${String(i).padStart(5, '0')}`;
    names.push(h);
    hosts[h] = {
      channel: 'production',
      closureHash: `5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-${h}-26.05.20260517.9f8e7d6`,
      pin: { commit: 'deadbeef'.repeat(5), expiresAt: '2026-06-01T00:00:00Z', reason: 'incident 1234' },
      platform: 'x86_64-linux',
      pubkey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${'x'.repeat(43)} root@${h}`,
      system: 'x86_64-linux',
      tags: ['web', 'eu-west-1', 'production'],
    };
  }
  return {
    schemaVersion: 1,
    hosts,
    channels: { production: { rolloutPolicy: 'canary', reconcileIntervalMinutes: 30, freshnessWindow: 180, signingIntervalMinutes: 60 } },
    waves: { production: [0, 1, 2, 3].map((w) => ({ hosts: names.filter((_, i) => i % 4 === w), soakMinutes: 10 })) },
    edges: [],
    channelEdges: [],
    disruptionBudgets: [],
    meta: { schemaVersion: 1, signedAt: '2026-04-24T10:00:00Z', ciCommit: 'deadbeef'.repeat(5), signatureAlgorithm: 'ed25519' },
  };
}

describe('artifact limits', () => {
  afterEach(() => jest.restoreAllMocks());

  it('an artifact over MAX_ARTIFACT_BYTES is refused before decoding, even with a valid signature', () => {
    // Invalid UTF-8 throughout: had anything decoded it, the verdict would be Parse.
    const huge = new Uint8Array(MAX_ARTIFACT_BYTES + 1).fill(0xff);
    const utf = jest.spyOn(jcs, 'decodeUtf8');
    const parse = jest.spyOn(jcs, 'parseCanonical');
    const r = verifyFleetResolved(huge, key.sign(huge), trusted(key), opts);
    expect(E.isLeft(r) && r.left).toMatchObject({
      kind: 'TooLarge',
      artifact: 'fleet.resolved',
      measure: 'bytes',
      max: MAX_ARTIFACT_BYTES,
      seen: MAX_ARTIFACT_BYTES + 1,
      message: `fleet.resolved is ${MAX_ARTIFACT_BYTES + 1} bytes, over the ${MAX_ARTIFACT_BYTES}-byte limit; refused before parsing`,
    });
    expect(utf).not.toHaveBeenCalled();
    expect(parse).not.toHaveBeenCalled();
  });

  it('a deep-nested forged body (the review’s depth-127 shape) is refused from its container count, unparsed', () => {
    const unit = `${'['.repeat(126)}${']'.repeat(126)}`;
    const body = utf8(`[${Array.from({ length: 2 * 1024 }, () => unit).join(',')}]`); // ~0.5 MiB, 258 k containers
    expect(body.length).toBeLessThan(MAX_ARTIFACT_BYTES);
    const parse = jest.spyOn(jcs, 'parseCanonical');
    const r = verifyFleetResolved(body, BAD_SIG, trusted(key), opts);
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'TooLarge', measure: 'containers', max: DEFAULT_ARTIFACT_LIMITS.maxContainers });
    expect(E.isLeft(r) && r.left.message).toMatch(/^fleet\.resolved has more than 65536 containers \(limit crossed at byte \d+\); refused before parsing$/);
    expect(parse).not.toHaveBeenCalled();
  });

  it('a many-keys forged body is refused from its key count, unparsed', () => {
    const body = utf8(`{${Array.from({ length: DEFAULT_ARTIFACT_LIMITS.maxKeys + 1 }, (_, i) => `"k${(i * 7919) % 1000003}x${i}":0`).join(',')}}`);
    const parse = jest.spyOn(jcs, 'parseCanonical');
    const r = verifyRolloutManifest(body, BAD_SIG, trusted(key), opts);
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'TooLarge', artifact: 'rollout manifest', measure: 'keys', seen: DEFAULT_ARTIFACT_LIMITS.maxKeys + 1 });
    expect(parse).not.toHaveBeenCalled();
  });

  it('within the limits a forged body still gets upstream’s verdicts (BadSignature, Parse)', () => {
    const body = canonicalBytes(JSON.stringify(fleet(10)));
    expect(right(E.swap(verifyFleetResolved(body, BAD_SIG, trusted(key), opts))).kind).toBe('BadSignature');
    expect(right(E.swap(verifyFleetResolved(utf8('{"a":'), BAD_SIG, trusted(key), opts))).kind).toBe('Parse');
  });

  it('a genuine fleet of 10,000 hosts, every one pinned, passes every limit and verifies', () => {
    const body = canonicalBytes(JSON.stringify(fleet(10_000)));
    expect(E.isRight(checkArtifactLimits(body))).toBe(true);
    const r = verifyFleetResolved(body, key.sign(body), trusted(key), opts);
    expect(E.isRight(r) && Object.keys(r.right.payload.hosts).length).toBe(10_000);
  });

  describe('the scan', () => {
    const tiny: ArtifactLimits = { maxBytes: 1000, maxContainers: 3, maxKeys: 2, maxElements: 5 };
    const scan = (text: string, limits: ArtifactLimits = tiny) => checkArtifactLimits(utf8(text), limits);

    it('counts only structure outside strings (escaped quotes included)', () => {
      expect(E.isRight(scan('{"a{[:,":"\\"{[:,,,,","b":[1,2]}'))).toBe(true);
    });

    it.each([
      // `[` at offsets 0..3: the fourth container crosses maxContainers 3.
      ['containers', '[[[[]]]]', { max: 3, seen: 4, offset: 3 }],
      // The third `:` (offset 16) crosses maxKeys 2.
      ['keys', '{"a":1,"b":2,"c":3}', { max: 2, seen: 3, offset: 16 }],
      // One for the array, one per `,`: the fifth comma (offset 10) makes six.
      ['elements', '[1,2,3,4,5,6]', { max: 5, seen: 6, offset: 10 }],
    ] as const)('names the crossed measure and where: %s', (measure, text, at) => {
      expect(scan(text)).toEqual(E.left({ measure, ...at }));
    });

    it('the byte limit is inclusive', () => {
      expect(E.isRight(scan('"x"', { ...tiny, maxBytes: 3 }))).toBe(true);
      expect(scan('"xy"', { ...tiny, maxBytes: 3 })).toEqual(E.left({ measure: 'bytes', max: 3, seen: 4, offset: 3 }));
    });

    it('VerifyOptions.limits replaces the defaults', () => {
      const body = canonicalBytes(JSON.stringify(fleet(2)));
      const r = verifyFleetResolved(body, key.sign(body), trusted(key), { ...opts, limits: { ...DEFAULT_ARTIFACT_LIMITS, maxKeys: 4 } });
      expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'TooLarge', measure: 'keys', max: 4 });
    });
  });
});

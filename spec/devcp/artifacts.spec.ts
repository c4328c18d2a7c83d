// The dev CP's CI-signed artifacts, checked with the agent's own verifier,
// manifest port and the trust.json the CP wrote: JCS bytes, raw ed25519
// signatures, `<channel>@<ciCommit>` ids, manifests anchored to the fleet's
// canonical hash, and re-signing that keeps them fresh.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { asyncScheduler, firstValueFrom, VirtualTimeScheduler } from 'rxjs';
import { rolloutIdOf } from '../../src/codecs/artifacts';
import { canonicalizeBytes } from '../../src/codecs/jcs';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { activeKeys, parseTrustConfig, type TrustConfig } from '../../src/codecs/trust-config';
import type { DevCp } from '../../src/devcp/dev-cp';
import { makeHostKey } from '../../src/devcp/pki';
import { createManifestPort } from '../../src/io/manifests';
import type { CpClient } from '../../src/io/http/client';
import { verifyFleetResolved, verifyRolloutManifest } from '../../src/trust/verify';
import { CLOSURE_B, CLOSURE_DB, enrolled, keys, raw, startCp, tempDir, type Keys } from './support';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('dev CP signed artifacts', () => {
  let k: Keys;
  let vts: VirtualTimeScheduler;
  let cp: DevCp;
  let client: CpClient;
  let trust: TrustConfig;
  let trustFile: string;
  let webTls: { cert: string; key: string };
  const base = Math.floor(Date.now() / 1000) * 1000;
  const now = () => fromEpochMillis(base + vts.now());
  const at = (ms: number) => ({ now: fromEpochMillis(base + ms), freshnessWindowSecs: 3600 });

  const advance = (ms: number): void => {
    const target = vts.frame + ms;
    vts.maxFrames = target;
    vts.flush();
    vts.frame = target;
  };

  beforeAll(async () => {
    k = await keys();
    vts = new VirtualTimeScheduler();
    const stateDir = tempDir('artifacts');
    cp = await startCp(k, { stateDir, scheduler: vts, now });
    trustFile = cp.files?.trust ?? '';
    expect(trustFile).toBe(path.join(stateDir, 'trust.json'));
    const parsed = parseTrustConfig(fs.readFileSync(trustFile));
    if (E.isLeft(parsed)) throw new Error(parsed.left.message);
    trust = parsed.right;
    const web = await enrolled(cp, k.web, 'web-01');
    client = web.client;
    webTls = { cert: fs.readFileSync(web.files.cert, 'utf8'), key: k.web.pkcs8Pem };
  });
  afterAll(async () => {
    client.close();
    await cp.close();
  });

  it('writes a trust.json with the CI release key and the org root key', () => {
    expect(JSON.parse(fs.readFileSync(trustFile, 'utf8'))).toEqual({
      schemaVersion: 1,
      ciReleaseKey: { current: { algorithm: 'ed25519', public: k.ciReleaseKey.publicBase64 }, previous: null, rejectBefore: null },
      cacheKeys: [],
      orgRootKey: { current: { algorithm: 'ed25519', public: k.orgRootKey.publicBase64 }, previous: null, rejectBefore: null },
    });
    expect(trust.orgRootKey?.current?.public).toBe(k.orgRootKey.publicBase64);
  });

  it('serves a canonical, signed fleet.resolved that the agent verifies with that trust.json', async () => {
    const { artifact, signature } = await firstValueFrom(client.artifacts.fleet());
    expect(signature.length).toBe(64);
    expect(canonicalizeBytes(artifact)).toEqual(E.right(text(artifact)));
    const v = verifyFleetResolved(artifact, signature, activeKeys(trust.ciReleaseKey), at(0));
    if (E.isLeft(v)) throw new Error(v.left.message);
    expect(v.right.signedAt).toBe(fromEpochMillis(base));
    expect(v.right.payload.hosts['web-01']).toEqual({ system: 'x86_64-linux', tags: [], channel: 'stable', closureHash: null, pubkey: k.web.sshPublicLine });
    expect(v.right.payload.channels['stable']).toEqual({ rolloutPolicy: 'stable', reconcileIntervalMinutes: 5, freshnessWindow: 180, signingIntervalMinutes: 60 });
    expect(v.right.payload.meta).toEqual({ schemaVersion: 1, signedAt: fromEpochMillis(base), ciCommit: null, signatureAlgorithm: 'ed25519' });
    const sig = await raw(cp, { path: '/v1/fleet.resolved/sig', ...webTls });
    expect(sig.headers['content-type']).toBe('application/octet-stream');
  });

  it('a release signs a new fleet and a manifest `<channel>@<ciCommit>` anchored to it; the agent manifest port accepts both', async () => {
    const r = cp.release({ closures: { 'web-01': CLOSURE_B, 'db-01': CLOSURE_DB }, policy: 'halt', soakMinutes: 3 });
    expect(r.rolloutId).toBe(`stable@${r.ciCommit}`);
    expect(r.ciCommit).toMatch(/^[0-9a-f]{40}$/);
    const fleet = await firstValueFrom(client.artifacts.fleet());
    const vf = verifyFleetResolved(fleet.artifact, fleet.signature, activeKeys(trust.ciReleaseKey), at(0));
    if (E.isLeft(vf)) throw new Error(vf.left.message);
    expect(vf.right.payload.meta.ciCommit).toBe(r.ciCommit);
    expect(vf.right.payload.rolloutPolicies['stable']).toMatchObject({ onHealthFailure: 'halt', waves: [{ soakMinutes: 3 }] });

    const m = await firstValueFrom(client.artifacts.rollout(r.rolloutId));
    const vm = verifyRolloutManifest(m.artifact, m.signature, activeKeys(trust.ciReleaseKey), at(0));
    if (E.isLeft(vm)) throw new Error(vm.left.message);
    expect(rolloutIdOf(vm.right.payload)).toBe(r.rolloutId);
    expect(vm.right.payload).toMatchObject({
      displayName: `stable@${r.ciCommit.slice(0, 8)}`,
      channel: 'stable',
      channelRef: r.ciCommit,
      fleetResolvedHash: vf.right.canonicalSha256,
      hostSet: [
        { hostname: 'db-01', waveIndex: 0, targetClosure: CLOSURE_DB },
        { hostname: 'web-01', waveIndex: 0, targetClosure: CLOSURE_B },
      ],
      healthGate: {},
    });
    expect(vm.right.signedAt).toBe(vf.right.signedAt);

    const port = createManifestPort({ source: client.artifacts, stateDir: tempDir('agent-state'), trustFile, scheduler: asyncScheduler });
    const set = await firstValueFrom(port.refresh());
    expect(set.rollouts).toEqual({ stable: r.rolloutId });
    expect(set.fleet.rolloutPolicies['stable']?.onHealthFailure).toBe('halt');
    await expect(firstValueFrom(port.ensureForDispatch(r.rolloutId, 'web-01', CLOSURE_B))).resolves.toMatchObject({ rolloutId: r.rolloutId, targetClosure: CLOSURE_B });
    await expect(firstValueFrom(port.ensureForDispatch(r.rolloutId, 'web-01', CLOSURE_DB))).rejects.toMatchObject({ kind: 'Mismatch' });
  });

  it('re-signs every 50 minutes: the fleet and the current manifest stay fresh past the first signature’s hour', async () => {
    const r = cp.release({ closures: { 'web-01': CLOSURE_B }, soakMinutes: 1 });
    const before = await firstValueFrom(client.artifacts.rollout(r.rolloutId));
    const released = vts.frame;
    advance(50 * 60_000);
    const fleet = await firstValueFrom(client.artifacts.fleet());
    const after = await firstValueFrom(client.artifacts.rollout(r.rolloutId));
    const later = at(released + 62 * 60_000);
    // The first signature is stale an hour (+60 s) later; the re-signed bytes are not.
    expect(verifyRolloutManifest(before.artifact, before.signature, activeKeys(trust.ciReleaseKey), later)).toMatchObject({ _tag: 'Left', left: { kind: 'Stale' } });
    const vf = verifyFleetResolved(fleet.artifact, fleet.signature, activeKeys(trust.ciReleaseKey), later);
    const vm = verifyRolloutManifest(after.artifact, after.signature, activeKeys(trust.ciReleaseKey), later);
    if (E.isLeft(vf) || E.isLeft(vm)) throw new Error('re-signed artifacts must verify');
    expect(vm.right.signedAt).toBe(fromEpochMillis(base + released + 50 * 60_000));
    expect(vm.right.payload.fleetResolvedHash).toBe(vf.right.canonicalSha256);
  });

  it('keeps serving an earlier rollout’s manifest; 404 for an unknown or malformed id', async () => {
    const first = cp.release({ closures: { 'web-01': CLOSURE_B }, soakMinutes: 1 });
    cp.release({ closures: { 'web-01': CLOSURE_DB.replace('db-01', 'web-01') }, soakMinutes: 1 });
    const m = await firstValueFrom(client.artifacts.rollout(first.rolloutId));
    expect(verifyRolloutManifest(m.artifact, m.signature, activeKeys(trust.ciReleaseKey), { now: now(), freshnessWindowSecs: 3600 })).toMatchObject({ _tag: 'Right' });
    await expect(firstValueFrom(client.artifacts.rollout('stable@0123abcd'))).rejects.toMatchObject({ kind: 'status', status: 404 });
    for (const p of ['/v1/rollouts/Stable@00', '/v1/rollouts/stable@XYZ', '/v1/rollouts/stable', '/v1/rollouts/stable@00@11/sig']) {
      expect((await raw(cp, { path: p, ...webTls })).status).toBe(404);
    }
  });

  it('with two channels, a release of one keeps the other channel’s rollout current, and re-signing keeps its manifest fresh', async () => {
    const beta = makeHostKey(undefined, 'root@beta-01');
    cp.declareHosts([{ name: 'beta-01', pubkey: beta.sshPublicLine, channel: 'beta' }]);
    const stable = cp.release({ channel: 'stable', closures: { 'web-01': CLOSURE_B }, soakMinutes: 1 });
    const betaRollout = cp.release({ channel: 'beta', closures: { 'beta-01': CLOSURE_DB.replace('db-01', 'beta-01') }, soakMinutes: 1 });
    expect(cp.rollouts().filter((r) => r.supersededAt === null).map((r) => r.rolloutId).sort()).toEqual([betaRollout.rolloutId, stable.rolloutId].sort());
    // The new commit's fleet projects a manifest for every channel with a closure (as a release run does).
    expect(cp.manifest(`stable@${betaRollout.ciCommit}`)).toBeDefined();
    const released = vts.frame;
    advance(50 * 60_000);
    const m = await firstValueFrom(client.artifacts.rollout(stable.rolloutId));
    const vm = verifyRolloutManifest(m.artifact, m.signature, activeKeys(trust.ciReleaseKey), at(released + 62 * 60_000));
    if (E.isLeft(vm)) throw new Error(vm.left.message);
    expect(vm.right.payload.channelRef).toBe(stable.ciCommit);
    expect(vm.right.signedAt).toBe(fromEpochMillis(base + released + 50 * 60_000));
  });
});

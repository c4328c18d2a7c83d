// ManifestPort over the real HTTP client: signed fleet.resolved and rollout
// manifests fetched with their /sig twins from a loopback mTLS server,
// verified with the trust code, cached under the state dir; only verified
// values come out.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { asyncScheduler, firstValueFrom, type Observable, type SchedulerLike } from 'rxjs';
import type { CpClient } from '../../../src/io/http/client';
import { createManifestPort, rolloutIdForChannel } from '../../../src/io/manifests';
import { clockHint, type ManifestPortError } from '../../../src/ports/manifests';
import { FleetResolved } from '../../../src/codecs/artifacts';
import { canonicalizeText } from '../../../src/codecs/jcs';
import type { TlsTestServer } from '../../support/tls-server';
import { mustDecode } from '../../support/decode';
import { client, memoryLogger, pki, server, tempDir, type Pki } from './support';

const COMMIT = '3f9c2a1e4b5d6c7e8f90a1b2c3d4e5f607182930';
const ROLLOUT = `stable@${COMMIT}`;
const TARGET = '5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6';
const SIGNED_AT = '2026-05-17T09:58:00Z';

const ciKey = crypto.generateKeyPairSync('ed25519');
const ciPublic = (ciKey.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64');
const sign = (bytes: Buffer): Buffer => {
  const canonical = canonicalizeText(bytes.toString('utf8'));
  if (E.isLeft(canonical)) throw new Error('not canonicalisable');
  return crypto.sign(null, Buffer.from(canonical.right, 'utf8'), ciKey.privateKey);
};
const sha256Canonical = (bytes: Buffer): string => {
  const canonical = canonicalizeText(bytes.toString('utf8'));
  if (E.isLeft(canonical)) throw new Error('not canonicalisable');
  return crypto.createHash('sha256').update(canonical.right, 'utf8').digest('hex');
};

function fleetDoc(extraChannels: Record<string, unknown> = {}, extraHosts: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    hosts: {
      'web-01': { system: 'x86_64-linux', platform: 'x86_64-linux', tags: ['web'], channel: 'stable', closureHash: TARGET, pubkey: 'ssh-ed25519 AAAA root@web-01' },
      ...extraHosts,
    },
    channels: {
      stable: { rolloutPolicy: 'canary', reconcileIntervalMinutes: 5, freshnessWindow: 180, signingIntervalMinutes: 60, compliance: { strict: false, frameworks: [] } },
      ...extraChannels,
    },
    rolloutPolicies: {
      canary: {
        strategy: 'canary',
        waves: [{ selector: { all: true, channel: null, hosts: [], tags: [], tagsAny: [] }, soakMinutes: 1 }],
        healthGate: {},
        onHealthFailure: 'rollback-and-halt',
      },
    },
    waves: { stable: [{ hosts: ['web-01'], soakMinutes: 1 }] },
    edges: [],
    channelEdges: [],
    disruptionBudgets: [],
    meta: { schemaVersion: 1, signedAt: SIGNED_AT, ciCommit: COMMIT, signatureAlgorithm: 'ed25519' },
  };
}

const manifestDoc = (fleetHash: string, channel = 'stable', hostSet = [{ hostname: 'web-01', waveIndex: 0, targetClosure: TARGET }]) => ({
  schemaVersion: 1,
  displayName: `${channel}@3f9c2a1e`,
  channel,
  channelRef: COMMIT,
  fleetResolvedHash: fleetHash,
  hostSet,
  healthGate: {},
  disruptionBudgets: [],
  complianceFrameworks: [],
  meta: { schemaVersion: 1, signedAt: SIGNED_AT, ciCommit: COMMIT, signatureAlgorithm: 'ed25519' },
});

const failure = <T>(o: Observable<T>): Promise<ManifestPortError> =>
  firstValueFrom(o).then(
    (v) => {
      throw new Error(`expected failure, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as ManifestPortError,
  );

/** A clock fixed at `iso` (verification reads `now` from the scheduler). */
const fixedClock = (iso: string): SchedulerLike => ({ now: () => Date.parse(iso), schedule: asyncScheduler.schedule.bind(asyncScheduler) });

describe('ManifestPort over HTTP', () => {
  let p: Pki;
  let srv: TlsTestServer;
  let cp: CpClient;
  let dir: string;
  let trustFile: string;

  const serve = (route: string, doc: unknown, signature?: Buffer) => {
    const bytes = Buffer.from(JSON.stringify(doc, null, 2)); // served JSON need not be canonical
    srv.route('GET', route, () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: bytes }));
    srv.route('GET', `${route}/sig`, () => ({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: signature ?? sign(bytes) }));
    return bytes;
  };
  const port = (extra: { now?: string; window?: number } = {}) =>
    createManifestPort({
      source: cp.artifacts,
      stateDir: dir,
      trustFile,
      scheduler: fixedClock(extra.now ?? '2026-05-17T10:00:00Z'),
      logger: memoryLogger(),
      ...(extra.window === undefined ? {} : { freshnessWindowSecs: extra.window }),
    });

  beforeAll(async () => {
    p = await pki();
    srv = await server(p);
    cp = client(p, srv);
  });
  afterAll(async () => {
    cp.close();
    await srv.close();
  });
  beforeEach(() => {
    dir = tempDir('manifests');
    trustFile = path.join(dir, 'trust.json');
    fs.writeFileSync(
      trustFile,
      JSON.stringify({ schemaVersion: 1, ciReleaseKey: { current: { algorithm: 'ed25519', public: ciPublic }, previous: null, rejectBefore: null }, cacheKeys: [], orgRootKey: null }),
    );
    srv.requests.length = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refresh(): verified fleet policies and each channel\'s verified rollout id; cached for the next tick', async () => {
    const fleet = serve('/v1/fleet.resolved', fleetDoc());
    serve(`/v1/rollouts/${ROLLOUT}`, manifestDoc(sha256Canonical(fleet)));
    const ports = port();
    const set = await firstValueFrom(ports.refresh());
    expect(set.rollouts).toEqual({ stable: ROLLOUT });
    expect(set.fleet.channels).toEqual({ stable: { rolloutPolicy: 'canary' } });
    expect(set.fleet.rolloutPolicies['canary']?.onHealthFailure).toBe('rollback-and-halt');
    expect(srv.requests.map((r) => r.url)).toEqual(['/v1/fleet.resolved', '/v1/fleet.resolved/sig', `/v1/rollouts/${ROLLOUT}`, `/v1/rollouts/${ROLLOUT}/sig`]);
    expect(fs.readFileSync(path.join(dir, 'fleet', 'fleet.resolved.json')).equals(fleet)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'rollouts', `${ROLLOUT}.json.sig`))).toBe(true);
    await firstValueFrom(ports.refresh());
    // The fleet is fetched again (network first: a newer one must be seen at once);
    // the immutable rollout manifest comes from the cache.
    expect(srv.requests.map((r) => r.path).slice(4)).toEqual(['/v1/fleet.resolved', '/v1/fleet.resolved/sig']);
  });

  it('skips a channel whose manifest comes from another fleet, or that has no declared closure', async () => {
    const fleet = serve(
      '/v1/fleet.resolved',
      fleetDoc(
        { edge: { rolloutPolicy: 'canary', reconcileIntervalMinutes: 5, freshnessWindow: 180, signingIntervalMinutes: 60 }, empty: { rolloutPolicy: 'canary', reconcileIntervalMinutes: 5, freshnessWindow: 180, signingIntervalMinutes: 60 } },
        { 'edge-01': { system: 'x86_64-linux', tags: [], channel: 'edge', closureHash: 'e-closure', pubkey: null } },
      ),
    );
    serve(`/v1/rollouts/${ROLLOUT}`, manifestDoc(sha256Canonical(fleet)));
    serve(`/v1/rollouts/edge@${COMMIT}`, manifestDoc('00'.repeat(32), 'edge', [{ hostname: 'edge-01', waveIndex: 0, targetClosure: 'e-closure' }]));
    const logger = memoryLogger();
    const ports = createManifestPort({ source: cp.artifacts, stateDir: dir, trustFile, scheduler: fixedClock('2026-05-17T10:00:00Z'), logger });
    expect((await firstValueFrom(ports.refresh())).rollouts).toEqual({ stable: ROLLOUT });
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => [l.message, l.fields?.['channel']])).toEqual([
      ['manifest poll: manifest was projected from another fleet.resolved; skipping channel', 'edge'],
    ]);
    expect(srv.requests.some((r) => r.path.startsWith('/v1/rollouts/empty'))).toBe(false);
  });

  it('a fleet whose signature does not verify fails the tick with a reason, and nothing is cached', async () => {
    serve('/v1/fleet.resolved', fleetDoc(), Buffer.alloc(64, 1));
    const e = await failure(port().refresh());
    expect(e).toMatchObject({ name: 'ManifestPortError', kind: 'VerifyFailed', verdict: 'BadSignature' });
    expect(e.message).toMatch(/^fleet\.resolved: signature does not verify/);
    expect(clockHint(e)).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'fleet'))).toBe(false);
  });

  it('an unreachable or failing fleet endpoint is Missing', async () => {
    srv.route('GET', '/v1/fleet.resolved', () => ({ status: 503, headers: { 'Retry-After': '30' }, body: { error: 'control plane not ready' } }));
    const e = await failure(port().refresh());
    expect(e.kind).toBe('Missing');
    expect(e.message).toMatch(/HTTP 503/);
  });

  it('ensureForDispatch(): the signed manifest must bind this host to exactly the dispatched closure', async () => {
    const fleet = serve('/v1/fleet.resolved', fleetDoc());
    serve(`/v1/rollouts/${ROLLOUT}`, manifestDoc(sha256Canonical(fleet)));
    const ports = port();
    expect(await firstValueFrom(ports.ensureForDispatch(ROLLOUT, 'web-01', TARGET))).toEqual({ rolloutId: ROLLOUT, targetClosure: TARGET, signedAt: SIGNED_AT });
    const wrong = await failure(ports.ensureForDispatch(ROLLOUT, 'web-01', 'other-closure'));
    expect(wrong.kind).toBe('Mismatch');
    expect(wrong.message).toContain('dispatch target_closure "other-closure" != manifest target_closure');
    const stranger = await failure(ports.ensureForDispatch(ROLLOUT, 'db-02', TARGET));
    expect(stranger.kind).toBe('Mismatch');
    const missing = await failure(ports.ensureForDispatch('stable@ffff', 'web-01', TARGET));
    expect(missing.kind).toBe('Missing');
    const traversal = await failure(ports.ensureForDispatch('../../etc', 'web-01', TARGET));
    expect(traversal.kind).toBe('Mismatch');
  });

  it('uses the configured freshness window (upstream hard-codes 3600 s here)', async () => {
    const fleet = serve('/v1/fleet.resolved', fleetDoc());
    serve(`/v1/rollouts/${ROLLOUT}`, manifestDoc(sha256Canonical(fleet)));
    // Two hours after signing: stale for 3600 s, fresh for a one-year window.
    const late = '2026-05-17T11:58:00Z';
    const stale = await failure(port({ now: late }).ensureForDispatch(ROLLOUT, 'web-01', TARGET));
    expect(stale).toMatchObject({ kind: 'VerifyFailed', verdict: 'Stale' });
    expect(stale.message).toMatch(/stale artifact/);
    expect(clockHint(stale)).toMatch(/clock is ahead \(check time sync\)/);
    expect(await firstValueFrom(port({ now: late, window: 365 * 86_400 }).ensureForDispatch(ROLLOUT, 'web-01', TARGET))).toMatchObject({ rolloutId: ROLLOUT });
  });

  it('a future-dated fleet is refused with its verdict and a clock hint, carried as fields, not read from the text', async () => {
    serve('/v1/fleet.resolved', fleetDoc());
    const e = await failure(port({ now: '2026-05-17T09:00:00Z' }).refresh());
    expect(e).toMatchObject({ kind: 'VerifyFailed', verdict: 'FutureDated' });
    expect(clockHint(e)).toMatch(/clock is behind \(check time sync\)/);
    expect(clockHint(new Error(e.message))).toBeUndefined();
  });

  it('an oversized artifact is refused before verification', async () => {
    const small = client(p, srv, { maxArtifactBytes: 64 });
    serve('/v1/fleet.resolved', fleetDoc());
    const ports = createManifestPort({ source: small.artifacts, stateDir: dir, trustFile, scheduler: fixedClock('2026-05-17T10:00:00Z') });
    const e = await failure(ports.refresh());
    expect(e.kind).toBe('Missing');
    expect(e.message).toMatch(/body larger than 64 bytes/);
    small.close();
  });
});

describe('rolloutIdForChannel', () => {
  const fleet = (over: (d: ReturnType<typeof fleetDoc>) => void = () => undefined) => {
    const d = fleetDoc();
    over(d);
    return mustDecode(FleetResolved, d);
  };

  it('is `channel@meta.ciCommit` when a host of the channel declares a closure', () => {
    expect(rolloutIdForChannel(fleet(), 'stable')).toEqual(E.right(ROLLOUT));
  });
  it('is none when no host of the channel declares a closure', () => {
    expect(rolloutIdForChannel(fleet((d) => ((d.hosts['web-01'] as { closureHash: unknown }).closureHash = null)), 'stable')).toEqual(E.right(undefined));
  });
  it('is an error for a missing policy or commit', () => {
    expect(rolloutIdForChannel(fleet((d) => (d.channels.stable.rolloutPolicy = 'nope')), 'stable')).toEqual(E.left('rollout policy nope for channel stable not found in fleet.rolloutPolicies'));
    expect(rolloutIdForChannel(fleet((d) => ((d.meta as { ciCommit: unknown }).ciCommit = null)), 'stable')).toEqual(E.left('fleet.meta.ciCommit is absent; cannot name the rollout of channel stable'));
    expect(rolloutIdForChannel(fleet(), 'nope')).toEqual(E.left('channel nope missing from fleet.channels'));
  });
});

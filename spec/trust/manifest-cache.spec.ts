// The manifest cache on a real temporary state dir: write-through after a
// verified fetch, re-verification on load, offline restarts while fresh,
// fall-through when the cached copy goes stale or is tampered with.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { asyncScheduler, firstValueFrom, Observable, of, throwError } from 'rxjs';
import { parseTrustConfig, type TrustConfig } from '../../src/codecs/trust-config';
import { addSeconds, type Timestamp } from '../../src/codecs/timestamp';
import {
  assertFleetAnchor,
  canonicalHashFromBytes,
  createManifestCache,
  type ArtifactSource,
  type ManifestCacheStore,
  type SignedArtifact,
} from '../../src/trust';
import { fsManifestCacheStore, readTrustFile } from '../../src/io/manifest-files';
import { createManifestPort } from '../../src/io/manifests';
import { ManifestPortError } from '../../src/ports/manifests';
import { canonicalBytes, ed25519Key, right, vectorText } from './support';

const SIGNED_AT = '2026-05-01T00:00:00Z' as Timestamp;
const WINDOW = 3600;
const key = ed25519Key();
const trust: TrustConfig = right(parseTrustConfig(JSON.stringify({ schemaVersion: 1, ciReleaseKey: { current: { algorithm: key.algorithm, public: key.public } } })));

function signed(doc: unknown): SignedArtifact {
  const artifact = canonicalBytes(JSON.stringify(doc));
  return { artifact, signature: key.sign(artifact) };
}

const fleetDoc = { ...JSON.parse(vectorText('upstream/nixfleet-proto/signed-artifact.json')), meta: { schemaVersion: 1, signedAt: SIGNED_AT, ciCommit: 'def4567abc123def4567abc123def4567abc123d' } };
const fleet = signed(fleetDoc);
const fleetHash = right(canonicalHashFromBytes(fleet.artifact));
const manifestDoc = { ...JSON.parse(vectorText('derived/nixfleet-harness/rollout-manifest/manifest.canonical.json')), fleetResolvedHash: fleetHash };
const manifest = signed(manifestDoc);
const ID = 'stable@def4567abc123def4567abc123def4567abc123d';

interface Harness {
  readonly dir: string;
  readonly fetches: string[];
  readonly logs: string[];
  now: Timestamp;
  online: boolean;
  served: { rollouts: Record<string, SignedArtifact>; fleet: SignedArtifact };
  cache(opts?: { store?: ManifestCacheStore; trust?: () => Observable<TrustConfig>; windowSecs?: number }): ReturnType<typeof createManifestCache>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function harness(): Harness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-cache-'));
  dirs.push(dir);
  const h: Harness = {
    dir,
    fetches: [],
    logs: [],
    now: addSeconds(SIGNED_AT, 600),
    online: true,
    served: { rollouts: { [ID]: manifest }, fleet },
    cache: (opts = {}) => {
      const source: ArtifactSource = {
        rollout: (id) => {
          h.fetches.push(`rollout:${id}`);
          const got = h.served.rollouts[id];
          return h.online && got !== undefined ? of(got) : throwError(() => new Error(h.online ? '404' : 'connection refused'));
        },
        fleet: () => {
          h.fetches.push('fleet');
          return h.online ? of(h.served.fleet) : throwError(() => new Error('connection refused'));
        },
      };
      return createManifestCache({
        store: opts.store ?? fsManifestCacheStore(dir),
        source,
        trust: opts.trust ?? (() => of(trust)),
        now: () => h.now,
        freshnessWindowSecs: opts.windowSecs ?? WINDOW,
        log: (level, message, fields) => h.logs.push(`${level}: ${message}${fields['reason'] !== undefined ? ` (${String(fields['reason'])})` : ''}`),
      });
    },
  };
  return h;
}

const kind = (e: E.Either<{ kind: string }, unknown>) => (E.isLeft(e) ? e.left.kind : 'Ok');
const onDisk = (h: Harness, rel: string) => new Uint8Array(fs.readFileSync(path.join(h.dir, rel)));

describe('manifest cache', () => {
  it('a miss fetches, verifies and writes the exact bytes and signature through', async () => {
    const h = harness();
    const r = await firstValueFrom(h.cache().fetchOrLoad(ID));
    expect(kind(r)).toBe('Ok');
    expect(h.fetches).toEqual([`rollout:${ID}`]);
    expect(onDisk(h, `rollouts/${ID}.json`)).toEqual(manifest.artifact);
    expect(onDisk(h, `rollouts/${ID}.json.sig`)).toEqual(manifest.signature);
    expect(fs.readdirSync(path.join(h.dir, 'rollouts')).sort()).toEqual([`${ID}.json`, `${ID}.json.sig`]); // no temp files left
  });

  it('a restarted agent without network keeps working from the cache while it is fresh', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoad(ID));
    await firstValueFrom(h.cache().fetchOrLoadFleet());
    h.online = false;
    h.fetches.length = 0;
    h.now = addSeconds(SIGNED_AT, WINDOW + 60); // the last fresh instant
    const restarted = h.cache();
    const m = await firstValueFrom(restarted.fetchOrLoad(ID));
    const f = await firstValueFrom(restarted.fetchOrLoadFleet());
    expect([kind(m), kind(f)]).toEqual(['Ok', 'Ok']);
    expect(h.fetches).toEqual([]);
    expect(E.isRight(f) && f.right.hash).toBe(fleetHash);
    expect(E.isRight(m) && E.isRight(f) && kind(assertFleetAnchor(m.right.payload, f.right.hash))).toBe('Ok');
  });

  it('once the cached copy is stale it falls through to a fetch; offline that is Missing', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoad(ID));
    h.online = false;
    h.now = addSeconds(SIGNED_AT, WINDOW + 60.001);
    const r = await firstValueFrom(h.cache().fetchOrLoad(ID));
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'Missing' });
    expect(h.logs.some((l) => l.includes('falling through to fetch'))).toBe(true);
  });

  it('a stale cache is replaced by a newer signed copy from the CP', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoad(ID));
    h.now = addSeconds(SIGNED_AT, 2 * WINDOW);
    const newer = signed({ ...manifestDoc, meta: { ...manifestDoc.meta, signedAt: addSeconds(SIGNED_AT, 2 * WINDOW - 10) } });
    h.served.rollouts[ID] = newer;
    const r = await firstValueFrom(h.cache().fetchOrLoad(ID));
    expect(E.isRight(r) && r.right.signedAt).toBe(addSeconds(SIGNED_AT, 2 * WINDOW - 10));
    expect(onDisk(h, `rollouts/${ID}.json`)).toEqual(newer.artifact);
  });

  it('the configured window is honoured (a one-year window keeps a month-old copy usable)', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoad(ID));
    h.online = false;
    h.now = addSeconds(SIGNED_AT, 30 * 86400);
    expect(kind(await firstValueFrom(h.cache({ windowSecs: 365 * 86400 }).fetchOrLoad(ID)))).toBe('Ok');
    expect(kind(await firstValueFrom(h.cache().fetchOrLoad(ID)))).toBe('Missing');
  });

  it('a tampered cached file is not trusted: it is refetched and rewritten', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoad(ID));
    const file = path.join(h.dir, `rollouts/${ID}.json`);
    fs.writeFileSync(file, Buffer.from(fs.readFileSync(file, 'utf8').replace('host-a', 'evil-a')));
    h.fetches.length = 0;
    const r = await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-01', '0000000000000000000000000000000000000000-host-a'));
    expect(kind(r)).toBe('Ok');
    expect(h.fetches).toEqual([`rollout:${ID}`, 'fleet']); // the fleet for the anchor check
    expect(onDisk(h, `rollouts/${ID}.json`)).toEqual(manifest.artifact);
  });

  it('path-traversal ids are refused before the store or the network is touched', async () => {
    const h = harness();
    const touched: string[] = [];
    const spy: ManifestCacheStore = {
      read: (rel) => (touched.push(rel), of(null)),
      write: (rel) => (touched.push(rel), of(undefined)),
    };
    for (const id of ['../fleet/fleet.resolved', 'a/b', 'x..y']) {
      const r = await firstValueFrom(h.cache({ store: spy }).fetchOrLoad(id));
      expect(E.isLeft(r) && r.left.kind).toBe('Mismatch');
    }
    expect(touched).toEqual([]);
    expect(h.fetches).toEqual([]);
  });

  it('a validly signed manifest served under another id is a Mismatch and is not cached', async () => {
    const h = harness();
    const other = 'edge@def4567abc123def4567abc123def4567abc123d';
    h.served.rollouts[other] = manifest;
    const r = await firstValueFrom(h.cache().fetchOrLoad(other));
    expect(E.isLeft(r) && r.left.reason).toMatch(/advertised rolloutId edge@.* != parsed RolloutId stable@/);
    expect(fs.existsSync(path.join(h.dir, `rollouts/${other}.json`))).toBe(false);
  });

  it('dispatch and membership checks run on the verified manifest', async () => {
    const h = harness();
    const c = h.cache();
    expect(kind(await firstValueFrom(c.ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b')))).toBe('Ok');
    expect(kind(await firstValueFrom(c.ensureForDispatch(ID, 'agent-02', '0000000000000000000000000000000000000000-host-a')))).toBe('Mismatch');
    expect(kind(await firstValueFrom(c.ensure(ID, 'agent-02', 1)))).toBe('Ok');
    expect(kind(await firstValueFrom(c.ensure(ID, 'agent-02', 0)))).toBe('Mismatch');
  });

  describe('dispatch is held to the current fleet anchor, as the poll is', () => {
    // CI published a newer fleet.resolved (another host set, a later signature) and a
    // rollout projected from it; the previous rollout's manifest is still signed and fresh.
    const newerFleetDoc = { ...fleetDoc, meta: { ...fleetDoc.meta, signedAt: addSeconds(SIGNED_AT, 300) }, edges: [{ gated: 'agent-02', gates: 'agent-01', reason: 'db first' }] };
    const newerFleet = signed(newerFleetDoc);
    const newerHash = right(canonicalHashFromBytes(newerFleet.artifact));

    it('an older, still-fresh manifest projected from another fleet.resolved is refused as Mismatch', async () => {
      const h = harness();
      h.served.fleet = newerFleet;
      h.now = addSeconds(SIGNED_AT, 900); // both artifacts well inside the window
      const c = h.cache();
      expect(kind(await firstValueFrom(c.fetchOrLoad(ID)))).toBe('Ok'); // the manifest on its own still verifies
      const r = await firstValueFrom(c.ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b'));
      expect(E.isLeft(r) && r.left).toMatchObject({
        kind: 'Mismatch',
        reason: `manifest was projected from another fleet.resolved: fleetResolvedHash ${fleetHash} != held fleet ${newerHash}`,
      });
    });

    it('even when the older fleet is still the cached copy: the current one comes from the CP first', async () => {
      const h = harness();
      await firstValueFrom(h.cache().fetchOrLoadFleet()); // the old fleet, cached and fresh
      h.served.fleet = newerFleet;
      const r = await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b'));
      expect(kind(r)).toBe('Mismatch');
    });

    it('a cached manifest that predates a re-signing is fetched again, and the re-projected one passes', async () => {
      const h = harness();
      await firstValueFrom(h.cache().fetchOrLoad(ID)); // cached, anchored to the old fleet, still fresh
      const current = signed({ ...manifestDoc, fleetResolvedHash: newerHash, meta: { ...manifestDoc.meta, signedAt: addSeconds(SIGNED_AT, 300) } });
      h.served = { fleet: newerFleet, rollouts: { [ID]: current } };
      h.fetches.length = 0;
      const r = await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b'));
      expect(E.isRight(r) && r.right.payload.fleetResolvedHash).toBe(newerHash);
      expect(h.fetches).toEqual(['fleet', `rollout:${ID}`]);
      expect(onDisk(h, `rollouts/${ID}.json`)).toEqual(current.artifact); // the cache now holds the re-projected copy
    });

    it('a manifest projected from the current fleet passes', async () => {
      const h = harness();
      const current = signed({ ...manifestDoc, fleetResolvedHash: newerHash, meta: { ...manifestDoc.meta, signedAt: addSeconds(SIGNED_AT, 300) } });
      h.served = { fleet: newerFleet, rollouts: { [ID]: current } };
      expect(kind(await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b')))).toBe('Ok');
    });

    it('without a verified fleet there is no anchor, and the dispatch is refused', async () => {
      const h = harness();
      h.served.fleet = { ...fleet, signature: new Uint8Array(64) };
      const r = await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b'));
      expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'VerifyFailed', cause: { kind: 'BadSignature' } });
      expect(E.isLeft(r) && r.left.reason).toMatch(/^no verified fleet\.resolved to anchor the manifest: /);
    });

    it('through the ManifestPort: a ManifestPortError of kind Mismatch that says why', async () => {
      const h = harness();
      const port = createManifestPort({
        source: { rollout: () => of(manifest), fleet: () => of(newerFleet) },
        store: fsManifestCacheStore(h.dir),
        trust: () => of(trust),
        scheduler: { now: () => Date.parse(addSeconds(SIGNED_AT, 900)), schedule: asyncScheduler.schedule.bind(asyncScheduler) },
      });
      const e = await firstValueFrom(port.ensureForDispatch(ID, 'agent-02', '1111111111111111111111111111111111111111-host-b')).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ManifestPortError);
      expect(e).toMatchObject({ kind: 'Mismatch', message: expect.stringContaining(`manifest was projected from another fleet.resolved: fleetResolvedHash ${fleetHash}`) });
    });

    it('the closure check still comes first (no fleet fetch for a wrong closure)', async () => {
      const h = harness();
      const r = await firstValueFrom(h.cache().ensureForDispatch(ID, 'agent-02', '0000000000000000000000000000000000000000-host-a'));
      expect(E.isLeft(r) && r.left.reason).toMatch(/^dispatch target_closure/);
      expect(h.fetches).toEqual([`rollout:${ID}`]);
    });
  });

  it('verification failures are VerifyFailed with the verifier’s class; rejectBefore comes from trust.json', async () => {
    const h = harness();
    const cut = { ...trust, ciReleaseKey: { ...trust.ciReleaseKey, rejectBefore: addSeconds(SIGNED_AT, 1) } };
    const r = await firstValueFrom(h.cache({ trust: () => of(cut) }).fetchOrLoad(ID));
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'VerifyFailed', cause: { kind: 'RejectedBeforeTimestamp' } });
    h.served.rollouts[ID] = { ...manifest, signature: new Uint8Array(64) };
    const bad = await firstValueFrom(h.cache().fetchOrLoad(ID));
    expect(E.isLeft(bad) && bad.left).toMatchObject({ kind: 'VerifyFailed', cause: { kind: 'BadSignature' } });
  });

  it('an unreadable trust file is VerifyFailed, read from disk on every verification', async () => {
    const h = harness();
    const trustFile = path.join(h.dir, 'trust.json');
    fs.writeFileSync(trustFile, '{"schemaVersion":1,"ciReleaseKey":');
    const c = h.cache({ trust: () => readTrustFile(trustFile) });
    const r = await firstValueFrom(c.fetchOrLoad(ID));
    expect(E.isLeft(r) && r.left.kind).toBe('VerifyFailed');
    expect(E.isLeft(r) && r.left.reason).toMatch(/load trust roots: parse trust file/);
    fs.writeFileSync(trustFile, JSON.stringify({ schemaVersion: 1, ciReleaseKey: { current: { algorithm: 'ed25519', public: key.public } } }));
    expect(kind(await firstValueFrom(c.fetchOrLoad(ID)))).toBe('Ok');
  });

  it('write-through failures only log; the verified value is still returned', async () => {
    const h = harness();
    const failing: ManifestCacheStore = {
      read: () => of(null),
      write: () => throwError(() => new Error('EROFS')),
    };
    expect(kind(await firstValueFrom(h.cache({ store: failing }).fetchOrLoad(ID)))).toBe('Ok');
    expect(h.logs.some((l) => l.startsWith('warn: manifest cache: write-through failed'))).toBe(true);
  });

  it('refreshFleet sees a newer fleet at once (fetchOrLoadFleet keeps the cached one while it verifies)', async () => {
    const h = harness();
    await firstValueFrom(h.cache().fetchOrLoadFleet());
    const newer = signed({ ...fleetDoc, meta: { ...fleetDoc.meta, signedAt: addSeconds(SIGNED_AT, 300) } });
    h.served.fleet = newer;
    const cached = await firstValueFrom(h.cache().fetchOrLoadFleet());
    expect(E.isRight(cached) && cached.right.fleet.signedAt).toBe(SIGNED_AT);
    const refreshed = await firstValueFrom(h.cache().refreshFleet());
    expect(E.isRight(refreshed) && refreshed.right.fleet.signedAt).toBe(addSeconds(SIGNED_AT, 300));
    expect(E.isRight(refreshed) && refreshed.right.hash).toBe(right(canonicalHashFromBytes(newer.artifact)));
    expect(onDisk(h, 'fleet/fleet.resolved.json')).toEqual(newer.artifact);
  });

  it('refreshFleet falls back to a cached copy that still verifies, and reports the fetch failure otherwise', async () => {
    const h = harness();
    await firstValueFrom(h.cache().refreshFleet());
    h.online = false;
    expect(kind(await firstValueFrom(h.cache().refreshFleet()))).toBe('Ok');
    h.now = addSeconds(SIGNED_AT, WINDOW + 61);
    const r = await firstValueFrom(h.cache().refreshFleet());
    expect(E.isLeft(r) && r.left.reason).toMatch(/fetch fleet.resolved: connection refused/);
    // A forged fleet from the network does not replace a good cached one.
    h.now = addSeconds(SIGNED_AT, 600);
    h.online = true;
    h.served.fleet = { ...fleet, signature: new Uint8Array(64) };
    const kept = await firstValueFrom(h.cache().refreshFleet());
    expect(E.isRight(kept) && kept.right.hash).toBe(fleetHash);
    expect(onDisk(h, 'fleet/fleet.resolved.json.sig')).toEqual(fleet.signature);
  });

  it('refuses a fleet.resolved older than one already verified, even fresh and well signed (no rollback inside the window)', async () => {
    const h = harness();
    const newer = signed({ ...fleetDoc, meta: { ...fleetDoc.meta, signedAt: addSeconds(SIGNED_AT, 300) } });
    h.served.fleet = newer;
    const cache = h.cache();
    await firstValueFrom(cache.refreshFleet());
    h.served.fleet = fleet; // the earlier release, still inside the window
    const r = await firstValueFrom(cache.refreshFleet());
    // The network copy is refused; the newer cached copy is the answer.
    expect(E.isRight(r) && r.right.fleet.signedAt).toBe(addSeconds(SIGNED_AT, 300));
    expect(h.logs.some((l) => /older than one already verified/.test(l))).toBe(true);
    expect(onDisk(h, 'fleet/fleet.resolved.json')).toEqual(newer.artifact);
    // A restarted agent takes its floor from the cached copy before it fetches.
    const restarted = await firstValueFrom(h.cache().refreshFleet());
    expect(E.isRight(restarted) && restarted.right.fleet.signedAt).toBe(addSeconds(SIGNED_AT, 300));
  });

  it('a store read error counts as a cache miss', async () => {
    const h = harness();
    const broken: ManifestCacheStore = { read: () => throwError(() => new Error('EACCES')), write: () => of(undefined) };
    expect(kind(await firstValueFrom(h.cache({ store: broken }).fetchOrLoadFleet()))).toBe('Ok');
    expect(h.fetches).toEqual(['fleet']);
  });
});

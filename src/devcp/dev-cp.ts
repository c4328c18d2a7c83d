// The development control plane, assembled: keys and CA (generated, or
// loaded from its state directory), the core state, the HTTPS listener,
// the planner tick (re-offers Pending dispatches every 15 s, as upstream's
// planner) and the re-signing tick (fresh `signedAt` well inside the agent's
// 3600 s freshness window), persistence, and the in-process API that specs
// and the demo drive it with. Timers run on the injected scheduler.
import { promises as fs } from 'node:fs';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { encodeJson } from '../codecs/decode';
import type { HostRolloutState } from '../codecs/host-state';
import { fromEpochMillis, toEpochMillis, type Timestamp } from '../codecs/timestamp';
import { TrustConfig } from '../codecs/trust-config';
import { BootstrapToken } from '../codecs/wire';
import { writeFileAtomic } from '../io/enroll/atomic-write';
import { errorMessage } from '../ports/error-text';
import { silentLogger, type Logger } from '../ports/logger';
import type { ReleaseOptions, ReleaseResult } from './ci';
import { createCore, type CoreStats } from './core';
import type { TokenOptions } from './enrollment';
import { declareHosts as declareInFleet, emptyFleet, hostDeclProblem, type HostDecl, type SignedBytes } from './fleet';
import { listen, type Reply, type Request } from './http';
import { generateSigningKey, loadSigningKey, type SigningKey } from './keys';
import { createLongPolls } from './longpoll';
import { CI_FILE, CiState, DB_FILE, DbState, emptyDb, readState, writeState, type EventRow } from './persist';
import { createFleetCa, exportCaKeyPem, issueServerCert, loadFleetCa, type FleetCa } from './pki';
import { createRoutes } from './routes';
import type { HostView, RolloutView } from './views';

export const DEFAULT_CN_SUFFIX = 'fleet.lab.internal';

export const DEVCP_DEFAULTS = {
  certValiditySecs: 30 * 86_400,
  /** Well inside the agent's 3600 s (+60 s) freshness window. */
  resignIntervalMs: 50 * 60_000,
  /** Upstream's planner tick. */
  replanIntervalMs: 15_000,
  /** One parked long-poll per host is normal; this bounds a misbehaving client. */
  maxParkedPolls: 1024,
  /** Enroll bodies are a few KB; events under 1 KB. Upstream's axum default is 2 MB. */
  maxBodyBytes: 1024 * 1024,
  /** ~20 events per host per rollout: hundreds of rollouts of a small dev fleet. */
  maxEventLog: 10_000,
  maxArchivedManifests: 64,
  maxAllowedNonces: 4096,
  maxUsedNonces: 16_384,
  /** Releases kept with their records (a demo makes a handful). */
  maxRollouts: 256,
  maxConnections: 256,
} as const;

export interface DevCpOptions {
  readonly hosts?: readonly HostDecl[];
  /** Keys, CA, trust.json and the state files live here; state is in memory only when absent. */
  readonly stateDir?: string;
  /** Forget the database on start (records, rollouts, burnt nonces, event log); keep keys, CA and the fleet. */
  readonly emptyDatabase?: boolean;
  /** Default 0 (any free port) on 127.0.0.1. */
  readonly port?: number;
  /** Issued CN `agent-<host>.<suffix>`; `null` issues bare host CNs. Default `fleet.lab.internal`. */
  readonly cnSuffix?: string | null;
  readonly certValiditySecs?: number;
  /** Timers (long-poll waits, planner, re-signing). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Wall clock for signatures, tokens and certificates. Default `scheduler.now()`. */
  readonly now?: () => Timestamp;
  readonly resignIntervalMs?: number;
  readonly replanIntervalMs?: number;
  /** Refuse token nonces the CP did not mint (upstream's signed allowlist). Default true. */
  readonly requireNonceAllowlist?: boolean;
  /** 400 when the protocol header is absent (upstream `--strict`). Default false. */
  readonly strictVersion?: boolean;
  readonly maxParkedPolls?: number;
  readonly maxBodyBytes?: number;
  readonly maxEventLog?: number;
  readonly maxConnections?: number;
  /** Rollouts kept with their records (oldest superseded ones dropped beyond it). Default 256. */
  readonly maxRollouts?: number;
  /** Reuse a CA / keys (specs share them across servers); otherwise loaded from or created in `stateDir`. */
  readonly ca?: FleetCa;
  readonly ciReleaseKey?: SigningKey;
  readonly orgRootKey?: SigningKey;
  /** Bearer token of `/dev/admin/*`. Default a random one; `false` turns the admin routes off. */
  readonly adminToken?: string | false;
  readonly logger?: Logger;
  /** Reported by `/healthz`. */
  readonly version?: string;
}

export interface DevCpFiles {
  readonly stateDir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly ciReleaseKey: string;
  readonly orgRootKey: string;
  readonly trust: string;
  readonly adminToken: string | undefined;
  readonly ciState: string;
  readonly dbState: string;
}

export interface DevCpStats extends CoreStats {
  readonly parkedPolls: number;
}

export type { TokenOptions };

export interface DevCp {
  readonly url: string;
  readonly port: number;
  readonly ca: FleetCa;
  /** The fleet CA certificate (PEM): the agent's `--ca-cert`. */
  readonly caCertPem: string;
  readonly ciReleaseKey: SigningKey;
  readonly orgRootKey: SigningKey;
  /** The agent's trust.json: `ciReleaseKey.current` and `orgRootKey.current`. */
  readonly trust: TrustConfig;
  readonly trustJson: string;
  readonly adminToken: string | undefined;
  /** Paths written in the state directory (undefined without one). */
  readonly files: DevCpFiles | undefined;
  /** Open a rollout: new signed fleet + manifests, mirror records Pending, dispatches queued. */
  release(options: ReleaseOptions): ReleaseResult;
  /** Add or update hosts (re-signs the fleet). */
  declareHosts(hosts: readonly HostDecl[]): void;
  /** A bootstrap token for a declared host; its nonce joins the allowlist. */
  mintToken(hostname: string, options?: TokenOptions): BootstrapToken;
  /** mintToken, written (0600) where the agent's `--bootstrap-token-file` points. */
  writeToken(hostname: string, file: string, options?: TokenOptions): Promise<BootstrapToken>;
  hosts(): HostView[];
  rollouts(): RolloutView[];
  /** The CP's event log, oldest first (every event received or synthesized, with its outcome). */
  events(rolloutId?: string): EventRow[];
  record(rolloutId: string, hostname: string): HostRolloutState | undefined;
  /** Signed artifacts as served. */
  fleetArtifact(): SignedBytes;
  manifest(rolloutId: string): SignedBytes | undefined;
  resign(): void;
  /** Run the planner now; returns the number of dispatches (re)queued. */
  replan(): number;
  /** The CP forgets its database; current rollouts re-open as Pending (heartbeat recovery rebuilds them). */
  wipeDatabase(): void;
  /** Emulate upstream's readiness gate: every `/v1/*` gets 503 + Retry-After: 30 while false. */
  setReady(ready: boolean): void;
  /** Fault injection: return a reply to replace the route's; undefined to pass. */
  setInterceptor(intercept: ((req: Request) => Reply | undefined) | undefined): void;
  stats(): DevCpStats;
  /** Resolves once pending state writes reached the disk. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function loadOrCreateKey(file: string | undefined, given: SigningKey | undefined): Promise<SigningKey> {
  if (given !== undefined) return given;
  const existing = file === undefined ? undefined : await readOptional(file);
  if (existing !== undefined) return loadSigningKey(existing);
  const key = generateSigningKey();
  if (file !== undefined) await writeFileAtomic(file, key.pkcs8Pem, 0o600);
  return key;
}

async function loadOrCreateCa(files: DevCpFiles | undefined, given: FleetCa | undefined, nowMs: number): Promise<FleetCa> {
  if (given !== undefined) return given;
  if (files !== undefined) {
    const [cert, key] = await Promise.all([readOptional(files.caCert), readOptional(files.caKey)]);
    if (cert !== undefined && key !== undefined) return loadFleetCa(cert, key);
    if (cert !== undefined || key !== undefined) throw new Error(`${files.stateDir}: ca.pem and ca-key.pem must both exist or both be absent`);
  }
  const ca = await createFleetCa({ nowMs });
  if (files !== undefined) {
    await writeFileAtomic(files.caKey, await exportCaKeyPem(ca), 0o600);
    await writeFileAtomic(files.caCert, ca.certPem, 0o644);
  }
  return ca;
}

export function trustConfigOf(ciReleaseKey: SigningKey, orgRootKey: SigningKey): TrustConfig {
  return {
    schemaVersion: 1,
    ciReleaseKey: { current: { algorithm: 'ed25519', public: ciReleaseKey.publicBase64 } },
    cacheKeys: [],
    orgRootKey: { current: { algorithm: 'ed25519', public: orgRootKey.publicBase64 } },
    issuanceCaPems: [],
  };
}

/** trust.json as the reference's dev example writes it (explicit nulls for empty slots). */
export function trustJsonOf(ciReleaseKey: SigningKey, orgRootKey: SigningKey): string {
  const slot = (k: SigningKey) => ({ current: { algorithm: 'ed25519', public: k.publicBase64 }, previous: null, rejectBefore: null });
  return JSON.stringify({ schemaVersion: 1, ciReleaseKey: slot(ciReleaseKey), cacheKeys: [], orgRootKey: slot(orgRootKey) }, null, 2) + '\n';
}

export async function startDevCp(options: DevCpOptions = {}): Promise<DevCp> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => fromEpochMillis(scheduler.now()));
  const logger = options.logger ?? silentLogger;
  const cnSuffix = options.cnSuffix === null ? undefined : (options.cnSuffix ?? DEFAULT_CN_SUFFIX);
  const certValiditySecs = Math.max(60, options.certValiditySecs ?? DEVCP_DEFAULTS.certValiditySecs);
  const dir = options.stateDir;
  const adminToken = options.adminToken === false ? undefined : (options.adminToken ?? crypto.randomBytes(24).toString('hex'));
  const files: DevCpFiles | undefined =
    dir === undefined
      ? undefined
      : {
          stateDir: dir,
          caCert: path.join(dir, 'ca.pem'),
          caKey: path.join(dir, 'ca-key.pem'),
          ciReleaseKey: path.join(dir, 'ci-release-key.pem'),
          orgRootKey: path.join(dir, 'org-root-key.pem'),
          trust: path.join(dir, 'trust.json'),
          adminToken: adminToken === undefined ? undefined : path.join(dir, 'admin-token'),
          ciState: path.join(dir, CI_FILE),
          dbState: path.join(dir, DB_FILE),
        };
  // A host that cannot be declared stops the start before anything is written.
  for (const h of options.hosts ?? []) {
    const problem = hostDeclProblem(h);
    if (problem !== undefined) throw new Error(problem);
  }
  if (dir !== undefined) await fs.mkdir(dir, { recursive: true, mode: 0o700 });

  const nowMs = toEpochMillis(now());
  const ca = await loadOrCreateCa(files, options.ca, nowMs);
  const ciReleaseKey = await loadOrCreateKey(files?.ciReleaseKey, options.ciReleaseKey);
  const orgRootKey = await loadOrCreateKey(files?.orgRootKey, options.orgRootKey);
  const trust = trustConfigOf(ciReleaseKey, orgRootKey);
  const trustJson = trustJsonOf(ciReleaseKey, orgRootKey);
  if (files !== undefined) {
    await writeFileAtomic(files.trust, trustJson, 0o644);
    if (files.adminToken !== undefined && adminToken !== undefined) await writeFileAtomic(files.adminToken, adminToken + '\n', 0o600);
  }

  const savedCi = dir === undefined ? undefined : await readState(CiState, path.join(dir, CI_FILE));
  const savedDb = dir === undefined || options.emptyDatabase === true ? undefined : await readState(DbState, path.join(dir, DB_FILE));
  const ci: CiState = { ...(savedCi ?? { version: 1, fleet: emptyFleet(), current: {}, allowedNonces: {}, archive: {} }) };
  const ciWithHosts: CiState = { ...ci, fleet: declareInFleet(ci.fleet, options.hosts ?? []) };

  // Persistence: one writer at a time; changes made while it writes are written next.
  let dirty = false;
  let writing: Promise<void> | undefined;
  let closed = false;
  const writeLoop = async (): Promise<void> => {
    while (dirty && dir !== undefined) {
      dirty = false;
      try {
        await writeState(CiState, dir, CI_FILE, core.ci);
        await writeState(DbState, dir, DB_FILE, core.db);
      } catch (e) {
        logger.error('dev-cp: could not save state', { stateDir: dir, error: errorMessage(e) });
      }
    }
  };
  const persist = (): void => {
    if (dir === undefined) return;
    dirty = true;
    writing ??= writeLoop().finally(() => {
      writing = undefined;
    });
  };

  const polls = createLongPolls(scheduler, options.maxParkedPolls ?? DEVCP_DEFAULTS.maxParkedPolls);
  const core = createCore(
    {
      now,
      ca,
      ciKey: ciReleaseKey,
      orgRootKey,
      trust,
      cnSuffix,
      certValiditySecs,
      requireNonceAllowlist: options.requireNonceAllowlist ?? true,
      maxEventLog: options.maxEventLog ?? DEVCP_DEFAULTS.maxEventLog,
      maxArchivedManifests: DEVCP_DEFAULTS.maxArchivedManifests,
      maxAllowedNonces: DEVCP_DEFAULTS.maxAllowedNonces,
      maxUsedNonces: DEVCP_DEFAULTS.maxUsedNonces,
      maxRollouts: options.maxRollouts ?? DEVCP_DEFAULTS.maxRollouts,
      onChange: persist,
      onEnqueue: (host) => polls.kick(host),
      logger,
    },
    ciWithHosts,
    savedDb ?? emptyDb(),
  );
  // No database (first start, or --empty-database): re-open what CI says is current.
  if (savedDb === undefined && Object.keys(ciWithHosts.current).length > 0) core.wipeDatabase();
  persist();

  let ready = true;
  let intercept: ((req: Request) => Reply | undefined) | undefined;
  const server = await issueServerCert(ca, { nowMs });
  const listener = await listen({
    host: '127.0.0.1',
    port: options.port ?? 0,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    clientCaPem: ca.certPem,
    maxBodyBytes: options.maxBodyBytes ?? DEVCP_DEFAULTS.maxBodyBytes,
    maxConnections: options.maxConnections ?? DEVCP_DEFAULTS.maxConnections,
    onError: (e) => logger.error('dev-cp: handler failed', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    handler: createRoutes({
      core,
      polls,
      now,
      cnSuffix,
      strictVersion: options.strictVersion ?? false,
      isReady: () => ready,
      version: options.version ?? '0.0.0-dev',
      adminToken,
      intercept: (req) => intercept?.(req),
      wipeDatabase: () => core.wipeDatabase(),
    }),
  });

  const every = (ms: number, work: () => void): Subscription =>
    scheduler.schedule(function (this: SchedulerAction<undefined>) {
      work();
      this.schedule(undefined, ms);
    }, ms);
  const timers = [
    every(options.replanIntervalMs ?? DEVCP_DEFAULTS.replanIntervalMs, () => core.replan()),
    every(options.resignIntervalMs ?? DEVCP_DEFAULTS.resignIntervalMs, () => core.resign()),
  ];

  const flush = async (): Promise<void> => {
    while (writing !== undefined) await writing;
  };

  const mint = (hostname: string, o: TokenOptions = {}): BootstrapToken => core.mintToken(hostname, o);

  return {
    url: listener.url,
    port: listener.port,
    ca,
    caCertPem: ca.certPem,
    ciReleaseKey,
    orgRootKey,
    trust,
    trustJson,
    adminToken,
    files,
    release: (o) => core.release(o),
    declareHosts: (h) => core.declareHosts(h),
    mintToken: mint,
    async writeToken(hostname, file, o) {
      const token = mint(hostname, o);
      await writeFileAtomic(file, encodeJson(BootstrapToken, token) + '\n', 0o600);
      return token;
    },
    hosts: () => core.hosts(),
    rollouts: () => core.rollouts(),
    events: (rolloutId) => core.events(rolloutId),
    record: (rolloutId, hostname) => core.record(rolloutId, hostname),
    fleetArtifact: () => core.fleetArtifact,
    manifest: (id) => core.manifest(id),
    resign: () => core.resign(),
    replan: () => core.replan(),
    wipeDatabase: () => core.wipeDatabase(),
    setReady(r) {
      ready = r;
    },
    setInterceptor(i) {
      intercept = i;
    },
    stats: () => ({ ...core.stats(), parkedPolls: polls.size }),
    flush,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) t.unsubscribe();
      polls.close();
      await listener.close();
      await flush();
    },
  };
}

// The daemon: upstream's startup order (reference agent-runtime.md §2.2)
// with the real adapters plugged into the graph. This is the outermost
// shell — the only place that knows every adapter, the process and its
// signals.
//
//   1. logger  2. trust-file and CA checks (exit 1)  2b. state dir mode/owner and the
//   one-agent lock (exit 1)  3. first-boot enrollment (exit 1)
//   4. open the state store, import the Rust agent's queue (exit 1)  5. mTLS client  6. boot-recovery
//   handshake (its snapshots are the graph's first inputs)  7. graph start,
//   READY=1, watchdog, metrics  8. SIGTERM/SIGINT → STOPPING=1, drain ≤ 25 s, exit 0
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { asyncScheduler, catchError, concat, EMPTY, firstValueFrom, map, NEVER, of, ReplaySubject, takeUntil, throwError, type Observable, type SchedulerLike } from 'rxjs';
import { decodeJson } from '../codecs/decode';
import { HostRolloutState } from '../codecs/host-state';
import { SignedIntent } from '../codecs/intent';
import { fromEpochMillis } from '../codecs/timestamp';
import type { AgentOptions } from '../cli/options';
import { createActivation, daemonBackend } from '../io/activation';
import { watchWallClock } from '../io/clock-watch';
import { createCertPort, enrollIfNeeded, loadTlsMaterial, parseCertPem, readPemFile } from '../io/enroll';
import { readCaFile } from '../io/enroll/identity';
import { createCpClient, proxySettingsFromEnv, type ProxySettings } from '../io/http';
import { createHostPort } from '../io/host';
import { createLogger } from '../io/log';
import { createManifestPort } from '../io/manifests';
import type * as MetricsModule from '../io/metrics';
import { createProbeAdapter } from '../io/probes';
import { bootRecovery } from '../io/recovery';
import { AgentStore, Outbox, storePort } from '../io/store';
import { acquireInstanceLock, type InstanceLock } from '../io/store/instance-lock';
import { importUpstreamQueue, type ImportOutcome } from '../io/store/upstream-queue-import';
import { secureStateDir } from '../io/store/permissions';
import { createNotifier } from '../io/systemd';
import { errorMessage } from '../ports/error-text';
import type { ControlPlanePort } from '../ports/control-plane';
import type { CertPort } from '../ports/host';
import type { Logger } from '../ports/logger';
import type { OutboundQueuePort } from '../ports/store';
import { outboundDrain } from '../sources/outbound-drain';
import { createAgentGraph } from '../streams/graph';
import { readTrustFile } from '../io/manifest-files';
import { turnCommitter } from './turn-commit';

/** The issued certificate, kept in the state dir until it is written where --client-cert says (src/io/enroll/enroll.ts). */
const PENDING_CERT_FILE = 'enrolled-cert.pem';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Start-up time asked of systemd per enrollment retry beyond the wait itself: one request's deadline (30 s) twice over. */
const ENROLL_ATTEMPT_ALLOWANCE_MS = 60_000;

/** Host paths under `--host-root` (`/` on a real host). */
export function hostPaths(root: string) {
  const at = (p: string) => path.join(root, p);
  return {
    storeDir: at('/nix/store'),
    profile: at('/nix/var/nix/profiles/system'),
    currentSystem: at('/run/current-system'),
    switchLock: at('/run/nixos/switch-to-configuration.lock'),
    activateLog: at('/var/log/nixfleet-activate.log'),
    healthChecks: at('/etc/nixfleet/agent/health-checks.json'),
  };
}

const wallClock = () => fromEpochMillis(asyncScheduler.now());

/**
 * Rollout records saved by a previous run, decoded, with the signed intents
 * they are bound to; a bad row is skipped (a bad intent only unbinds its
 * record) with a warning.
 */
function restored(store: AgentStore, logger: Logger): { hosts: Record<string, HostRolloutState>; intents: Record<string, SignedIntent> } {
  const hosts: Record<string, HostRolloutState> = {};
  const intents: Record<string, SignedIntent> = {};
  for (const row of store.rollouts()) {
    const r = decodeJson(HostRolloutState, row.record);
    if (E.isLeft(r)) {
      logger.warn('saved rollout record unreadable; skipped', { rolloutId: row.rolloutId, error: r.left.message });
      continue;
    }
    hosts[row.rolloutId] = r.right;
    if (row.signedIntent === undefined) continue;
    const i = decodeJson(SignedIntent, row.signedIntent);
    if (E.isRight(i)) intents[row.rolloutId] = i.right;
    else logger.warn('saved signed intent unreadable; the record will not be resumed', { rolloutId: row.rolloutId, error: i.left.message });
  }
  return { hosts, intents };
}

/**
 * One drain pass, now: what the queue holds goes out in order until the CP
 * refuses or is unreachable. Run before the boot handshake after importing
 * the Rust agent's events: the CP answers the handshake from what it has
 * heard, and would otherwise synthesise from the heartbeat the very events
 * those files hold (the host already runs the target) and then refuse the
 * real ones as out of turn.
 */
function sendQueuedOnce(cp: ControlPlanePort, queue: OutboundQueuePort, scheduler: SchedulerLike, logger: Logger): Observable<never> {
  return outboundDrain({ cp, queue, kick$: EMPTY, finalPass$: of('now') }, { scheduler, logger, shutdown$: of('now') });
}

export interface RunningDaemon {
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done: Promise<number>;
  stop(): void;
}

/**
 * `stopRequests` (the process's SIGTERM/SIGINT, subscribed before anything
 * starts): during start-up — a long first-boot enrollment — a request ends
 * the start with exit 0, a log line and STOPPING=1; once running, it stops
 * the graph as `stop()` does.
 */
export async function runDaemon(opts: AgentOptions, env: NodeJS.ProcessEnv = process.env, stopRequests: Observable<unknown> = NEVER): Promise<RunningDaemon> {
  let stopRequested = false;
  const requested$ = new ReplaySubject<void>(1);
  const requests = stopRequests.subscribe(() => {
    stopRequested = true;
    requested$.next();
  });
  const logger = createLogger({ level: opts.logLevel, format: opts.logFormat, clock: wallClock });
  // Created first: enrollment may need to extend systemd's start timeout.
  const notifier = createNotifier(logger, env);
  if (opts.insecureAllowPlainHttpForDevelopment === true) {
    logger.warn('INSECURE: plain http to the control plane allowed for development; the bootstrap token and every report travel in clear', { controlPlane: opts.controlPlaneUrl });
  }
  let lock: InstanceLock | undefined;
  const fail = (msg: string, fields: Record<string, unknown> = {}): RunningDaemon => {
    logger.error(msg, fields);
    lock?.release();
    notifier.close();
    requests.unsubscribe();
    return { done: Promise.resolve(EXIT_FAILURE), stop() {} };
  };
  const host = hostPaths(opts.hostRoot);
  const scheduler = asyncScheduler;

  // 2. Trust roots must parse before anything talks to the network.
  try {
    await firstValueFrom(readTrustFile(opts.trustFile));
  } catch (err) {
    return fail('trust file unusable', { trustFile: opts.trustFile, error: errorMessage(err) });
  }

  // 2a. The CA must be usable before anything talks to the CP: a bad one would
  // otherwise look like an unreachable CP and be retried forever.
  try {
    await firstValueFrom(readCaFile(opts.caCert));
  } catch (err) {
    return fail('CA certificate unusable', { caCert: opts.caCert, error: errorMessage(err) });
  }

  // Proxy variables too (HTTPS_PROXY and the rest, as upstream reads them):
  // one the agent cannot use would fail every request, so it stops the start.
  let proxy: ProxySettings;
  try {
    proxy = proxySettingsFromEnv(env);
  } catch (err) {
    return fail('proxy settings unusable', { error: errorMessage(err) });
  }
  if (proxy.https !== undefined || proxy.http !== undefined) {
    logger.info('using proxies from the environment', { https: proxy.https?.display, http: proxy.http?.display, noProxy: !proxy.noProxy.empty });
  }

  // 2b. The state directory: ours alone (mode, owner), and one agent on it —
  // taken before enrollment, so two agents never spend one token.
  try {
    secureStateDir(opts.stateDir, logger);
    lock = await acquireInstanceLock(opts.stateDir, wallClock());
    if (lock.unlocked !== undefined) logger.warn('running without the state directory lock', { reason: lock.unlocked });
  } catch (err) {
    return fail('state directory unusable', { stateDir: opts.stateDir, error: errorMessage(err) });
  }

  // 3. First-boot enrollment (only when the cert is missing and a token is given).
  try {
    await firstValueFrom(
      enrollIfNeeded({
        controlPlaneUrl: opts.controlPlaneUrl,
        machineId: opts.machineId,
        ...(opts.caCert !== undefined ? { caFile: opts.caCert } : {}),
        ...(opts.clientCert !== undefined ? { clientCertFile: opts.clientCert } : {}),
        ...(opts.clientKey !== undefined ? { clientKeyFile: opts.clientKey } : {}),
        ...(opts.bootstrapTokenFile !== undefined ? { bootstrapTokenFile: opts.bootstrapTokenFile } : {}),
        pendingCertFile: path.join(opts.stateDir, PENDING_CERT_FILE),
        http: { proxy },
        scheduler,
        logger,
        // The next wait plus one request deadline, so a slow CP cannot trip the start timeout.
        onRetry: (reason, retryInMs) => notifier.extendStartTimeout(retryInMs + ENROLL_ATTEMPT_ALLOWANCE_MS, `enrolling: ${reason}`),
      }).pipe(takeUntil(requested$)),
      { defaultValue: undefined },
    );
  } catch (err) {
    return fail('enrollment failed', { error: errorMessage(err) });
  }
  if (stopRequested) {
    // A signal while enrolling (the wait for an unreachable CP can be long).
    notifier.stopping();
    logger.info('stopped during start-up', { phase: 'enrollment' });
    lock?.release();
    notifier.close();
    requests.unsubscribe();
    return { done: Promise.resolve(EXIT_OK), stop() {} };
  }

  // 4. The durable store.
  let store: AgentStore;
  try {
    store = AgentStore.open({ stateDir: opts.stateDir, logger, clock: wallClock });
  } catch (err) {
    return fail('state store unusable', { stateDir: opts.stateDir, error: errorMessage(err) });
  }
  // 4a. Events the Rust agent queued and never delivered (a swap of agents):
  // into the store before its counters seed the reducer, so no seq repeats.
  let imported: ImportOutcome;
  try {
    imported = importUpstreamQueue(store, opts.stateDir, logger, wallClock);
  } catch (err) {
    store.close();
    return fail("the Rust agent's outbound queue could not be imported", { stateDir: opts.stateDir, error: errorMessage(err) });
  }

  // 5. mTLS client.
  let client: ReturnType<typeof createCpClient>;
  try {
    const tls = await firstValueFrom(
      loadTlsMaterial({
        ...(opts.caCert !== undefined ? { caFile: opts.caCert } : {}),
        ...(opts.clientCert !== undefined ? { clientCertFile: opts.clientCert } : {}),
        ...(opts.clientKey !== undefined ? { clientKeyFile: opts.clientKey } : {}),
      }),
    );
    client = createCpClient({ baseUrl: opts.controlPlaneUrl, tls, scheduler, logger, proxy });
  } catch (err) {
    store.close();
    return fail('TLS material unusable', { error: errorMessage(err) });
  }
  const hostPort = createHostPort({ currentSystemPath: host.currentSystem });
  const certPort: CertPort =
    opts.clientCert !== undefined
      ? createCertPort({ client, machineId: opts.machineId, certFile: opts.clientCert, hostKeyFile: opts.sshHostKeyFile, logger })
      : { validity: () => throwError(() => new Error('no client certificate configured')), renew: () => throwError(() => new Error('no client certificate configured')) };
  // For `status` only: serial and fingerprint, read once (the cert port serves the validity).
  const cert =
    opts.clientCert === undefined
      ? undefined
      : await firstValueFrom(
          readPemFile(opts.clientCert, 'client certificate').pipe(
            map((pem) => E.getOrElseW(() => undefined)(parseCertPem(pem))),
            catchError(() => of(undefined)),
          ),
        );
  if (cert !== undefined) {
    try {
      store.putCertificate({ serial: cert.serial, fingerprint: cert.fingerprint, notBefore: cert.notBefore, notAfter: cert.notAfter });
    } catch (err) {
      // Only `status` reads it; a full disk must not stop the agent here.
      logger.warn('could not record the certificate metadata', { error: errorMessage(err) });
    }
  }

  // 6–7. The graph; the handshake's snapshots are its first inputs.
  const { hosts, intents } = restored(store, logger);
  // Every counter, not only the restored records': the reducer assigns seqs
  // and the store refuses one it has seen (a rollout whose record was pruned
  // can come back through a CP snapshot).
  let seqFloors: Record<string, number>;
  try {
    seqFloors = store.seqCounters();
  } catch (err) {
    store.close();
    return fail('state store unusable', { stateDir: opts.stateDir, error: errorMessage(err) });
  }
  const outbox = new Outbox(store, logger, wallClock);
  const queue = storePort(store, outbox);
  const graph = createAgentGraph({
    ports: {
      cp: client,
      manifests: createManifestPort({ source: client.artifacts, stateDir: opts.stateDir, trustFile: opts.trustFile, scheduler, freshnessWindowSecs: opts.manifestFreshnessWindowSecs, logger }),
      activation: createActivation({
        backend: daemonBackend(env, logger),
        storeDir: host.storeDir,
        profile: host.profile,
        currentSystem: host.currentSystem,
        switchLock: host.switchLock,
        activateLog: host.activateLog,
        scheduler,
        logger,
      }),
      probes: createProbeAdapter({ healthChecksPath: host.healthChecks, sshHostKeyFile: opts.sshHostKeyFile, scheduler, logger, proxy }),
      host: hostPort,
      cert: certPort,
      queue,
      confirmed: queue,
    },
    config: {
      machineId: opts.machineId,
      // As upstream, renewal needs --client-cert: without it, off (one INFO line), not a warning every 90 s.
      ...(opts.renewalThresholdFraction !== undefined && opts.clientCert !== undefined ? { renewalThresholdFraction: opts.renewalThresholdFraction } : {}),
      sustainedFailureThresholdSecs: opts.sustainedFailureThresholdSecs,
      periodsMs: opts.workerPeriods,
      seqFloors,
      hosts,
      intents,
      bootstrap$: concat(
        imported.imported > 0 ? sendQueuedOnce(client, queue, scheduler, logger) : EMPTY,
        bootRecovery({ cp: client, host: hostPort, machineId: opts.machineId, scheduler, logger }),
      ),
      commitTurn: turnCommitter(outbox, store, logger, wallClock),
    },
    scheduler,
    logger,
  });
  // Metrics only with --metrics-listen: nothing else reads them, and
  // prom-client is loaded only then.
  let metrics: MetricsModule.AgentMetrics | undefined;
  let metricsServer: ReturnType<typeof MetricsModule.serveMetrics> | undefined;
  if (opts.metricsListen !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createMetrics, serveMetrics } = require('../io/metrics') as typeof MetricsModule;
    metrics = createMetrics({
      graph,
      queueStats: () => outbox.stats(),
      host: hostPort,
      cert: certPort,
      nowMs: () => scheduler.now(),
    });
    metricsServer = serveMetrics(metrics.registry, opts.metricsListen, logger);
  }

  graph.start();
  logger.info('agent running', { machineId: opts.machineId, controlPlane: opts.controlPlaneUrl, restoredRollouts: Object.keys(hosts).length, stateDir: opts.stateDir });
  notifier.ready('running');
  notifier.startWatchdog();
  const clockWatch = watchWallClock(logger);

  let stopping: Promise<number> | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const stop = () => {
    if (stopping !== undefined) return;
    notifier.stopping();
    stopping = firstValueFrom(graph.stop()).then((result) => {
      if (result === 'deadline') logger.warn('drain deadline reached; in-flight work was cancelled');
      metrics?.close();
      metricsServer?.close();
      client.close();
      notifier.close();
      clockWatch.stop();
      store.close();
      lock?.release();
      logger.info('agent stopped', { result });
      return EXIT_OK;
    });
    void stopping.then(resolveDone);
  };
  // A signal that came while starting (replayed) or comes later stops the graph.
  requested$.subscribe(stop);
  return { done, stop };
}

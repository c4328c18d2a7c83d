// First-boot enrollment (reference agent-runtime.md §2.3, wire-protocol.md
// §4.1): only when cert, key and token file are configured and the cert file
// does not exist yet. One POST /v1/enroll without a client identity; a 503
// whose body says "control plane not ready" is retried every 10 s on the
// injected scheduler (unbounded, as upstream: the CP is still starting); a
// transport error (no HTTP answer) is retried on the same cadence, where
// upstream exits (docs/compatibility.md); any HTTP refusal fails. The issued cert must hold the host key before it is
// written — atomically, mode 0600.
//
// The token is single-use, so a local failure must never spend it: the
// certificate's destinations are checked writable before the POST, and the
// issued certificate is kept in the state directory first (`pendingCertFile`),
// from where the next start finishes a write that still failed.
import * as crypto from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { asyncScheduler, catchError, concat, concatMap, defaultIfEmpty, defer, EMPTY, finalize, ignoreElements, map, of, retry, throwError, timer, type Observable, type SchedulerLike } from 'rxjs';
import { decodeJson } from '../../codecs/decode';
import type { Timestamp } from '../../codecs/timestamp';
import { BootstrapToken, NOT_READY_MARKER } from '../../codecs/wire';
import { isCpError, type CpError } from '../../ports/control-plane';
import { silentLogger, type Logger } from '../../ports/logger';
import { errorMessage } from '../../ports/error-text';
import { fromWork } from '../from-work';
import { createCpClient, type CpClientConfig } from '../http/client';
import { PRIVATE_FILE_MODE, writeAtomic } from './atomic-write';
import { parseCertPem } from './cert-info';
import { createCsrPem } from './csr';
import { readHostKey, type HostKey } from './host-key';
import { checkCertMatchesKey, readCaFile } from './identity';

export interface EnrollConfig {
  readonly controlPlaneUrl: string;
  /** `--machine-id`: the CSR's CN, and the host the token must be for. */
  readonly machineId: string;
  /** `--ca-cert`; enrollment fails without it rather than trust the public roots. */
  readonly caFile?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly bootstrapTokenFile?: string;
  /**
   * Where the issued certificate is kept first (in the state directory), so a
   * write to `clientCertFile` that fails after the CP burned the token is
   * finished on the next start instead of re-enrolling into a 409.
   */
  readonly pendingCertFile?: string;
  /** The not-ready retry timer and the HTTP deadlines run here. Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
  /** Retry period for "not ready" and for transport errors. Default 10 000 (upstream's not-ready period). */
  readonly notReadyRetryMs?: number;
  /** Called before each retry wait (not ready, unreachable): the daemon extends its systemd start timeout. */
  readonly onRetry?: (reason: string, retryInMs: number) => void;
  /** Transport settings for the enrollment client (timeouts, caps). */
  readonly http?: Omit<CpClientConfig, 'baseUrl' | 'tls' | 'scheduler' | 'logger'>;
}

export const ENROLL_NOT_READY_RETRY_MS = 10_000;

export type EnrollOutcome =
  | { readonly kind: 'skipped'; readonly reason: 'not-configured' | 'cert-present' }
  /** `attempts` 0: finished from the kept certificate of an earlier enrollment, no request sent. */
  | { readonly kind: 'enrolled'; readonly certFile: string; readonly notAfter: Timestamp; readonly serial: string; readonly attempts: number };

export class EnrollError extends Error {
  override readonly name = 'EnrollError';
  constructor(
    message: string,
    readonly cpError?: CpError,
  ) {
    super(message);
  }
}

const MAX_TOKEN_BYTES = 64 * 1024;

/** Fails, naming the file and the reason, unless a file can be created beside `file` (the directory too, when `create`). */
const checkWritable = (file: string, create: boolean): Observable<void> =>
  fromWork(async () => {
    const dir = path.dirname(file);
    try {
      if (create) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const probe = path.join(dir, `.${path.basename(file)}.probe-${crypto.randomBytes(6).toString('hex')}`);
      await (await fs.open(probe, 'wx', 0o600)).close();
      await fs.unlink(probe);
    } catch (e) {
      throw new EnrollError(`cannot write the certificate to ${file}: ${errorMessage(e)}; the bootstrap token was not used`);
    }
  });

const exists = (file: string): Observable<boolean> =>
  fromWork(async () => {
    try {
      await fs.lstat(file);
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return false;
      throw e;
    }
  });

export const readBootstrapToken = (file: string): Observable<BootstrapToken> =>
  fromWork(async () => {
    const st = await fs.stat(file);
    if (st.size > MAX_TOKEN_BYTES) throw new EnrollError(`bootstrap token ${file}: ${st.size} bytes is not a token`);
    const r = decodeJson(BootstrapToken, await fs.readFile(file, 'utf8'));
    if (E.isLeft(r)) throw new EnrollError(`parse bootstrap token ${file}: ${r.left.message}`);
    return r.right;
  });

/** The CP would answer 401 to both; saying so here names the actual mistake. */
function checkTokenFor(token: BootstrapToken, machineId: string, key: HostKey): E.Either<string, void> {
  if (token.claims.hostname !== machineId) return E.left(`bootstrap token is for host "${token.claims.hostname}", this agent's machine id is "${machineId}"`);
  if (token.claims.expectedPubkeyFingerprint !== key.fingerprint) {
    return E.left(`bootstrap token expects key fingerprint ${token.claims.expectedPubkeyFingerprint}, the host key's is ${key.fingerprint}`);
  }
  return E.right(undefined);
}

const isNotReady = (e: unknown): boolean => isCpError(e) && e.kind === 'status' && e.status === 503 && e.message.includes(NOT_READY_MARKER);

export function enrollIfNeeded(config: EnrollConfig): Observable<EnrollOutcome> {
  const { clientCertFile: certFile, clientKeyFile: keyFile, bootstrapTokenFile: tokenFile } = config;
  if (certFile === undefined || keyFile === undefined || tokenFile === undefined) return of({ kind: 'skipped', reason: 'not-configured' });
  const scheduler = config.scheduler ?? asyncScheduler;
  const logger = config.logger ?? silentLogger;
  const retryMs = config.notReadyRetryMs ?? ENROLL_NOT_READY_RETRY_MS;

  const pending = config.pendingCertFile;
  const destinations = (): Observable<void> =>
    concat(checkWritable(certFile, false), pending !== undefined ? checkWritable(pending, true) : EMPTY).pipe(ignoreElements(), defaultIfEmpty(undefined));

  const written = (pem: string, notAfter: Timestamp, attempts: number): Observable<EnrollOutcome> => {
    const info = parseCertPem(pem);
    const serial = E.isRight(info) ? info.right.serial : 'unknown';
    return concat(pending !== undefined ? writeAtomic(pending, pem, PRIVATE_FILE_MODE) : EMPTY, writeAtomic(certFile, pem, PRIVATE_FILE_MODE)).pipe(
      ignoreElements(),
      defaultIfEmpty(undefined),
      concatMap(() => (pending !== undefined ? fromWork(() => fs.rm(pending, { force: true })) : of(undefined))),
      map((): EnrollOutcome => {
        logger.info('enrolled with the control plane', { certFile, notAfter, serial, ...(attempts === 0 ? { from: pending } : {}) });
        return { kind: 'enrolled', certFile, notAfter, serial, attempts };
      }),
    );
  };

  // A certificate kept by an earlier enrollment whose final write failed.
  const finishPending = (): Observable<EnrollOutcome | undefined> =>
    pending === undefined
      ? of(undefined)
      : exists(pending).pipe(
          concatMap((kept) =>
            !kept
              ? of(undefined)
              : fromWork(() => fs.readFile(pending, 'utf8')).pipe(
                  concatMap((pem) =>
                    readHostKey(keyFile).pipe(
                      concatMap((key) => {
                        const fit = checkCertMatchesKey(pem, key, `kept certificate ${pending}`);
                        const info = parseCertPem(pem);
                        if (E.isLeft(fit) || E.isLeft(info)) {
                          logger.warn('kept certificate of an earlier enrollment unusable; enrolling again', { file: pending, error: E.isLeft(fit) ? fit.left : 'unparsable' });
                          return of(undefined);
                        }
                        return written(pem, info.right.notAfter, 0);
                      }),
                    ),
                  ),
                ),
          ),
        );

  const enroll = (): Observable<EnrollOutcome> =>
    readBootstrapToken(tokenFile).pipe(
      concatMap((token) =>
        readHostKey(keyFile).pipe(
          concatMap((key) => {
            const fit = checkTokenFor(token, config.machineId, key);
            if (E.isLeft(fit)) return throwError(() => new EnrollError(fit.left));
            return readCaFile(config.caFile).pipe(
              concatMap((ca) => destinations().pipe(map(() => ca))),
              concatMap((ca) => fromWork(() => createCsrPem(key, config.machineId)).pipe(map((csrPem) => ({ ca, csrPem })))),
              concatMap(({ ca, csrPem }) => post(ca, token, csrPem, key)),
            );
          }),
        ),
      ),
    );

  const post = (ca: string, token: BootstrapToken, csrPem: string, key: HostKey): Observable<EnrollOutcome> =>
    defer(() => {
      // No client identity: enrollment is how we get one. The CA is not
      // optional: the token must reach the fleet's CP, not a public-CA lookalike.
      const client = createCpClient({ ...config.http, baseUrl: config.controlPlaneUrl, tls: { ca }, scheduler, logger });
      let attempts = 0;
      return defer(() => {
        attempts += 1;
        return client.enroll({ token, csrPem });
      }).pipe(
        retry({
          delay: (e: unknown) => {
            if (isNotReady(e)) {
              logger.info('enroll: control plane cold-starting (awaiting first signed artifact); retrying', { retryInMs: retryMs, attempts });
              config.onRetry?.('control plane not ready', retryMs);
              return timer(retryMs, scheduler);
            }
            // Upstream exits and leaves the retry to systemd; a flaky first-boot
            // link is no reason to crash-loop. A response lost after the CP
            // burned the nonce comes back as a 409, which does stop us.
            // A CP we reach but cannot trust is named as such: a wrong --ca-cert
            // is an operator's to fix, and "unreachable" would send them to the network.
            if (isCpError(e) && e.kind === 'transport' && e.untrusted === true) {
              logger.warn("enroll: the control plane's certificate does not verify against --ca-cert; retrying", { retryInMs: retryMs, attempts, caCert: config.caFile, error: e.message });
              config.onRetry?.('control plane certificate not trusted (check --ca-cert)', retryMs);
              return timer(retryMs, scheduler);
            }
            if (isCpError(e) && e.kind === 'transport') {
              logger.warn('enroll: control plane unreachable; retrying', { retryInMs: retryMs, attempts, error: e.message });
              config.onRetry?.('control plane unreachable', retryMs);
              return timer(retryMs, scheduler);
            }
            return throwError(() => e);
          },
        }),
        concatMap((issued) => {
          const fit = checkCertMatchesKey(issued.certPem, key, 'enroll: issued certificate');
          if (E.isLeft(fit)) return throwError(() => new EnrollError(fit.left));
          return written(issued.certPem, issued.notAfter, attempts);
        }),
        finalize(() => client.close()),
      );
    });

  return exists(certFile).pipe(
    concatMap((present) =>
      present ? of<EnrollOutcome>({ kind: 'skipped', reason: 'cert-present' }) : finishPending().pipe(concatMap((done) => (done !== undefined ? of(done) : enroll()))),
    ),
    // One error type for the daemon to print; the CP's typed error stays attached.
    catchError((e: unknown) => throwError(() => toEnrollError(e))),
  );
}

/** Upstream burns the nonce on first success: a 409 cannot heal by retrying. */
export const TOKEN_USED_HINT =
  'the bootstrap token was already used (an earlier enrollment may have succeeded without its certificate being stored); issue a new token for this host';

const toEnrollError = (e: unknown): EnrollError =>
  e instanceof EnrollError
    ? e
    : isCpError(e)
      ? new EnrollError(e.kind === 'status' && e.status === 409 ? `${e.message} — ${TOKEN_USED_HINT}` : e.message, e)
      : new EnrollError(`enroll: ${errorMessage(e)}`);

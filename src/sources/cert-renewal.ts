// cert_renewal (reference agent-runtime.md §8.8): renews the mTLS client
// certificate before it expires. Produces no reducer input.
//
// Timing rules: checks every 60 s, first at start; renews once the remaining
// fraction of validity drops below the threshold. After an error upstream
// waits a flat 30 s; here the wait doubles from 30 s to 30 min across
// consecutive failures (one success resets it), ticks meanwhile skipped: a CP
// that refuses renewals for days gets one attempt and one WARN per host every
// half hour instead of every 90 s, and renewal starts with days of validity
// left, so the longer wait costs nothing (docs/compatibility.md row 29).
// The working certificate is never removed.
//
// Off, with one line at start, as upstream: no threshold (INFO), or one
// outside (0, 1) (ERROR: the agent runs, its certificate will expire).
import { catchError, defer, EMPTY, exhaustMap, ignoreElements, mergeMap, takeUntil, tap, type Observable } from 'rxjs';
import { instantOf, type Timestamp } from '../codecs/timestamp';
import type { CertPort, CertValidity } from '../ports/host';
import { errorMessage } from '../ports/error-text';
import { nowOf, type SourceContext } from './context';
import { backoff, every } from './time';

export const CERT_CHECK_INTERVAL_MS = 60_000;
export const CERT_ERROR_BACKOFF_MS = 30_000;
export const CERT_ERROR_BACKOFF_MAX_MS = 1_800_000;

/** Wait after the `failures`-th consecutive failure (1-based): 30 s doubling, capped at 30 min. */
export const renewalRetryDelayMs = (failures: number): number => Math.min(CERT_ERROR_BACKOFF_MAX_MS, CERT_ERROR_BACKOFF_MS * 2 ** Math.max(0, failures - 1));

const seconds = (t: Timestamp): number => {
  const i = instantOf(t);
  return i.seconds + i.nanos / 1e9;
};

/** Remaining fraction of the validity window at `now`, in [0, 1]. */
export function remainingFraction(v: CertValidity, now: Timestamp): number {
  const total = Math.max(seconds(v.notAfter) - seconds(v.notBefore), 1);
  const elapsed = Math.max(seconds(now) - seconds(v.notBefore), 0);
  return Math.max(total - elapsed, 0) / total;
}

export function certRenewal(cert: CertPort, thresholdFraction: number | undefined, ctx: SourceContext): Observable<never> {
  if (thresholdFraction === undefined) {
    ctx.logger.info('certificate renewal disabled', { threshold: null });
    return EMPTY;
  }
  if (!(thresholdFraction > 0 && thresholdFraction < 1)) {
    ctx.logger.error('renewal threshold fraction must be strictly between 0 and 1; certificate renewal disabled', { threshold: thresholdFraction });
    return EMPTY;
  }
  let failures = 0;
  const check = (): Observable<never> =>
    defer(() => cert.validity()).pipe(
      mergeMap((v) => {
        const remaining = remainingFraction(v, nowOf(ctx.scheduler));
        if (remaining >= thresholdFraction) return EMPTY;
        ctx.logger.info('renewing client certificate', { remaining, notAfter: v.notAfter });
        return cert.renew().pipe(tap((renewed) => ctx.logger.info('client certificate renewed', { notAfter: renewed.notAfter })));
      }),
      ignoreElements(),
      tap({ complete: () => (failures = 0) }),
      catchError((err: unknown) => {
        failures += 1;
        const retryInMs = renewalRetryDelayMs(failures);
        ctx.logger.warn('certificate renewal failed; keeping the current certificate', { error: errorMessage(err), failures, retryInMs });
        return backoff(ctx, retryInMs).pipe(ignoreElements());
      }),
    );
  return every(ctx, CERT_CHECK_INTERVAL_MS).pipe(takeUntil(ctx.shutdown$), exhaustMap(check));
}

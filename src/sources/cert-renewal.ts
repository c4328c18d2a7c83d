// cert_renewal (reference agent-runtime.md §8.8): renews the mTLS client
// certificate before it expires. Produces no reducer input.
//
// Timing rules: checks every 60 s, first at start; renews once the remaining
// fraction of validity drops below the threshold; after an error waits 30 s
// (ticks meanwhile are skipped). The working certificate is never removed.
import { catchError, defer, EMPTY, exhaustMap, ignoreElements, mergeMap, takeUntil, tap, type Observable } from 'rxjs';
import { instantOf, type Timestamp } from '../codecs/timestamp';
import type { CertPort, CertValidity } from '../ports/host';
import { errorMessage } from '../ports/error-text';
import { nowOf, type SourceContext } from './context';
import { backoff, every } from './time';

export const CERT_CHECK_INTERVAL_MS = 60_000;
export const CERT_ERROR_BACKOFF_MS = 30_000;

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
  if (thresholdFraction === undefined || !(thresholdFraction > 0 && thresholdFraction < 1)) {
    ctx.logger.info('certificate renewal disabled', { threshold: thresholdFraction ?? null });
    return EMPTY;
  }
  const check = (): Observable<never> =>
    defer(() => cert.validity()).pipe(
      mergeMap((v) => {
        const remaining = remainingFraction(v, nowOf(ctx.scheduler));
        if (remaining >= thresholdFraction) return EMPTY;
        ctx.logger.info('renewing client certificate', { remaining, notAfter: v.notAfter });
        return cert.renew().pipe(tap((renewed) => ctx.logger.info('client certificate renewed', { notAfter: renewed.notAfter })));
      }),
      ignoreElements(),
      catchError((err: unknown) => {
        ctx.logger.warn('certificate renewal failed; keeping the current certificate', { error: errorMessage(err), retryInMs: CERT_ERROR_BACKOFF_MS });
        return backoff(ctx, CERT_ERROR_BACKOFF_MS).pipe(ignoreElements());
      }),
    );
  return every(ctx, CERT_CHECK_INTERVAL_MS).pipe(takeUntil(ctx.shutdown$), exhaustMap(check));
}

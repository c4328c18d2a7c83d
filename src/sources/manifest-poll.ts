// manifest_poll (reference agent-runtime.md §8.3): keeps the reducer's
// verified manifest set (and so every rollout's policy) current.
//
// Timing rule: every 30 s, first one at start; a refresh still running when
// the next tick comes makes that tick skip. A failed refresh keeps the
// previous set (nothing is emitted). Shutdown abandons a refresh in flight:
// a set that arrives while stopping changes nothing, and the stop must not
// wait on a CP that does not answer.
import { catchError, defer, EMPTY, exhaustMap, map, takeUntil, type Observable } from 'rxjs';
import type { ReducerInput } from '../reducer/agent';
import { clockHint, type ManifestPort } from '../ports/manifests';
import { errorMessage } from '../ports/error-text';
import type { SourceContext } from './context';
import { every } from './time';

export const MANIFEST_POLL_INTERVAL_MS = 30_000;

export function manifestPoll(manifests: ManifestPort, ctx: SourceContext, periodMs: number = MANIFEST_POLL_INTERVAL_MS): Observable<ReducerInput> {
  return every(ctx, periodMs).pipe(
    exhaustMap(() =>
      defer(() => manifests.refresh()).pipe(
        map((set): ReducerInput => ({ kind: 'ManifestSetUpdated', manifests: set })),
        catchError((err: unknown) => {
          const error = errorMessage(err);
          const hint = clockHint(err);
          ctx.logger.warn('manifest refresh failed; keeping the previous set', hint === undefined ? { error } : { error, hint });
          return EMPTY;
        }),
      ),
    ),
    takeUntil(ctx.shutdown$),
  );
}

// longpoll (reference agent-runtime.md §8.2): dispatches from the CP.
//
// Timing rules:
// - `GET /v1/agent/dispatch?wait=60`, abandoned after 65 s (wait + 5 s);
// - re-armed immediately after an empty answer (204/null) that the CP held;
//   an empty answer faster than 1 s is re-armed after 1 s — upstream spins
//   with no delay there, which a misbehaving CP turns into a busy loop;
// - re-armed 5 s after any error (transport, status, decode, a refused dispatch);
// - shutdown aborts the request in flight.
import { catchError, defer, map, mergeMap, of, repeat, takeUntil, type Observable } from 'rxjs';
import type { ReducerInput } from '../reducer/agent';
import type { ControlPlanePort, Dispatch } from '../ports/control-plane';
import type { HostPort } from '../ports/host';
import type { ManifestPort } from '../ports/manifests';
import { errorMessage } from '../ports/error-text';
import { nowOf, type SourceContext } from './context';
import { after, within } from './time';

export const LONGPOLL_WAIT_SECS = 60;
export const LONGPOLL_TIMEOUT_MS = 65_000;
export const LONGPOLL_ERROR_BACKOFF_MS = 5_000;
export const LONGPOLL_MIN_HOLD_MS = 1_000;

export interface LongpollDeps {
  readonly cp: ControlPlanePort;
  readonly manifests: ManifestPort;
  readonly host: HostPort;
  readonly machineId: string;
}

interface Cycle {
  readonly input?: ReducerInput;
  readonly rearmInMs: number;
}

/** Verify a dispatch against its signed manifest and hand the reducer the intent it binds. */
function accept(deps: LongpollDeps, ctx: SourceContext, d: Dispatch): Observable<ReducerInput> {
  if (d.hostname !== deps.machineId) {
    throw new Error(`dispatch for host ${d.hostname} refused (this host is ${deps.machineId})`);
  }
  return deps.manifests.ensureForDispatch(d.rolloutId, deps.machineId, d.targetClosure).pipe(
    mergeMap((verified) => deps.host.currentClosure().pipe(map((running) => ({ verified, running })))),
    map(({ verified, running }): ReducerInput => {
      // Upstream reports the *target* here (reference §18 item 5); we report
      // what was running, which is what a rollback must return to.
      if (running === undefined) ctx.logger.warn('current system unreadable; reporting the target as the pre-dispatch closure', { rolloutId: d.rolloutId });
      return {
        kind: 'VerifiedDispatch',
        rolloutId: d.rolloutId,
        event: {
          kind: 'LocalActivate',
          currentClosureAtDispatch: running ?? d.targetClosure,
          targetClosure: verified.targetClosure,
          receivedAt: d.enqueuedAt,
          soakDueAt: d.soakDueAt,
          seq: 0,
        },
        intent: { targetClosure: verified.targetClosure, ...(running !== undefined ? { previousClosure: running } : {}), signedAt: verified.signedAt },
      };
    }),
  );
}

export function longpoll(deps: LongpollDeps, ctx: SourceContext): Observable<ReducerInput> {
  let rearmInMs = 0;
  const cycle = defer((): Observable<Cycle> => {
    const started = ctx.scheduler.now();
    return deps.cp.dispatch(LONGPOLL_WAIT_SECS).pipe(
      within(ctx, LONGPOLL_TIMEOUT_MS),
      mergeMap((answer): Observable<Cycle> => {
        if (answer.kind === 'none') {
          const held = ctx.scheduler.now() - started;
          return of({ rearmInMs: held >= LONGPOLL_MIN_HOLD_MS ? 0 : LONGPOLL_MIN_HOLD_MS - held });
        }
        ctx.logger.info('dispatch received', { rolloutId: answer.dispatch.rolloutId, target: answer.dispatch.targetClosure, at: nowOf(ctx.scheduler) });
        return accept(deps, ctx, answer.dispatch).pipe(map((input) => ({ input, rearmInMs: 0 })));
      }),
      catchError((err: unknown) => {
        ctx.logger.warn('longpoll failed; retrying', { error: errorMessage(err), retryInMs: LONGPOLL_ERROR_BACKOFF_MS });
        return of({ rearmInMs: LONGPOLL_ERROR_BACKOFF_MS });
      }),
    );
  });
  return cycle.pipe(
    mergeMap((c) => {
      rearmInMs = c.rearmInMs;
      return c.input === undefined ? [] : [c.input];
    }),
    repeat({ delay: () => after(ctx, rearmInMs) }),
    takeUntil(ctx.shutdown$),
  );
}


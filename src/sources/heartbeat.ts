// heartbeat (reference agent-runtime.md §8.4): liveness, the running closure,
// and CP snapshots of this host's active rollouts.
//
// Timing rules: every 60 s, first one at start; each request abandoned after
// 10 s; after an error the worker waits 5 s (ticks meanwhile are skipped).
// An answer's snapshots become one BootstrapHosts input (one turn, however
// many there are; the reducer drops other hosts' and bounds the count). A
// Replay-From header kicks the outbound drain (upstream only logs it).
import { catchError, defer, EMPTY, exhaustMap, ignoreElements, mergeMap, of, takeUntil, type Observable } from 'rxjs';
import type { ReducerInput } from '../reducer/agent';
import type { ControlPlanePort } from '../ports/control-plane';
import type { HostPort } from '../ports/host';
import { errorMessage } from '../ports/error-text';
import { nowOf, type SourceContext } from './context';
import { backoff, every, within } from './time';

export const HEARTBEAT_INTERVAL_MS = 60_000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;
export const HEARTBEAT_ERROR_BACKOFF_MS = 5_000;

export interface HeartbeatDeps {
  readonly cp: ControlPlanePort;
  readonly host: HostPort;
  readonly machineId: string;
  /** Wakes the outbound drain. */
  readonly kick: () => void;
  /** Called after each answered heartbeat (for status and metrics). */
  readonly onContact?: () => void;
}

export function heartbeat(deps: HeartbeatDeps, ctx: SourceContext, periodMs: number = HEARTBEAT_INTERVAL_MS): Observable<ReducerInput> {
  const beat = (): Observable<ReducerInput> =>
    defer(() => deps.host.currentClosure()).pipe(
      mergeMap((currentClosure) =>
        deps.cp.heartbeat({
          hostname: deps.machineId,
          ...(currentClosure !== undefined ? { currentClosure } : {}),
          at: nowOf(ctx.scheduler),
        }),
      ),
      within(ctx, HEARTBEAT_TIMEOUT_MS),
      mergeMap((answer) => {
        deps.onContact?.();
        if (answer.replayFrom !== undefined) {
          ctx.logger.warn('control plane asks for a replay; draining the outbound queue now', { replayFrom: answer.replayFrom });
          deps.kick();
        }
        return answer.bootstrapRollouts.length === 0 ? EMPTY : of<ReducerInput>({ kind: 'BootstrapHosts', snapshots: answer.bootstrapRollouts });
      }),
      catchError((err: unknown) => {
        ctx.logger.warn('heartbeat failed', { error: errorMessage(err), retryInMs: HEARTBEAT_ERROR_BACKOFF_MS });
        return backoff(ctx, HEARTBEAT_ERROR_BACKOFF_MS).pipe(ignoreElements());
      }),
    );
  return every(ctx, periodMs).pipe(takeUntil(ctx.shutdown$), exhaustMap(beat));
}

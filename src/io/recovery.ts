// The boot-recovery handshake (reference agent-runtime.md §13, wire-protocol
// §4.3): one heartbeat before the workers start, in the "boot shape" (no
// rollout_id), whose bootstrap snapshots the graph turns into BootstrapHost
// inputs before the long-poll may act — upstream starts its workers first
// and races (reference §18 item 2). Never fatal: each failure is logged and
// the stream completes with no snapshots; the steady heartbeat retries.
import { catchError, concatMap, defer, EMPTY, first, from, of, timeout, type Observable, type SchedulerLike } from 'rxjs';
import type { HostRolloutSnapshot } from '../codecs/host-state';
import { fromEpochMillis } from '../codecs/timestamp';
import type { HeartbeatAnswer, HeartbeatRequest } from '../ports/control-plane';
import type { HostPort } from '../ports/host';
import type { Logger } from '../ports/logger';
import { cpFailureText } from './http/failure-text';

/** Upstream `RECOVERY_HTTP_TIMEOUT`: longer than a steady heartbeat, the CP may be starting too. */
export const RECOVERY_TIMEOUT_MS = 30_000;

export interface BootRecoveryDeps {
  /** The client's heartbeat; the handshake asks for its own deadline when the port supports one. */
  readonly cp: { heartbeat(body: HeartbeatRequest, options?: { readonly timeoutMs?: number }): Observable<HeartbeatAnswer> };
  readonly host: HostPort;
  readonly machineId: string;
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** Bound on the whole handshake. Default 30 000. */
  readonly timeoutMs?: number;
}

/** Emits the CP's snapshots for this host (possibly none), then completes. Never errors. */
export function bootRecovery(deps: BootRecoveryDeps): Observable<HostRolloutSnapshot> {
  const ms = deps.timeoutMs ?? RECOVERY_TIMEOUT_MS;
  return defer(() => deps.host.currentClosure()).pipe(
    first(null, undefined),
    // The port promises never to error; if it does anyway, report no closure rather than skip the handshake.
    catchError(() => of(undefined)),
    concatMap((currentClosure) => {
      const at = fromEpochMillis(deps.scheduler.now());
      const body: HeartbeatRequest = currentClosure === undefined ? { hostname: deps.machineId, at } : { hostname: deps.machineId, currentClosure, at };
      return deps.cp.heartbeat(body, { timeoutMs: ms }).pipe(
        first(),
        concatMap((answer) => {
          const mine = answer.bootstrapRollouts.filter((s) => s.hostname === deps.machineId);
          const foreign = answer.bootstrapRollouts.length - mine.length;
          if (foreign > 0) deps.logger.warn('boot-recovery: dropped snapshots for another host', { count: foreign, machineId: deps.machineId });
          deps.logger.info('boot-recovery: handshake done', {
            currentClosure: currentClosure ?? null,
            replayFrom: answer.replayFrom ?? null,
            snapshots: mine.length,
            rollouts: mine.map((s) => `${s.rolloutId}:${s.state}:${s.lastEventSeq}`),
          });
          return from(mine);
        }),
      );
    }),
    timeout({
      first: ms,
      scheduler: deps.scheduler,
      with: () => {
        deps.logger.warn('boot-recovery: no answer in time; starting without snapshots', { timeoutMs: ms });
        return EMPTY;
      },
    }),
    catchError((e: unknown) => {
      deps.logger.warn('boot-recovery: heartbeat failed; starting without snapshots (the heartbeat worker will retry)', { error: cpFailureText(e) });
      return EMPTY;
    }),
  );
}

// LocalEmitEvent → the durable outbound queue, then a drain kick (design §2
// invariant 8: disk before network). `enqueueNow` is synchronous, so the
// event is on disk before this returns, inside the reducer turn that made it,
// and the kick's pass runs after the turn (src/sources/outbound-drain.ts).
// The envelope carries the reducer's seq and the machine id as hostname
// (reference agent-runtime.md §7).
import type { EffectOf } from '../codecs/effects';
import { AgentEventEnvelope } from '../codecs/events';
import { errorMessage } from '../ports/error-text';
import type { Logger } from '../ports/logger';
import { isStoreError, type OutboundQueuePort } from '../ports/store';

export interface OutboundSinkDeps {
  readonly queue: OutboundQueuePort;
  readonly machineId: string;
  readonly kick: () => void;
  readonly logger: Logger;
}

export function applyEmitEffect(deps: OutboundSinkDeps, effect: EffectOf<'LocalEmitEvent'>): void {
  const { payload, rolloutId } = effect;
  const fields = { rolloutId, kind: payload.kind, seq: payload.seq };
  let evicted: number;
  try {
    const envelope = AgentEventEnvelope.encode({ hostname: deps.machineId, rolloutId, event: payload });
    evicted = deps.queue.enqueueNow({ rolloutId, seq: payload.seq, kind: payload.kind, durable: effect.durable, envelope }).evicted;
  } catch (err) {
    deps.logger.error('event LOST: could not be queued', { ...fields, ...(isStoreError(err) ? { code: err.code } : {}), error: errorMessage(err) });
    return;
  }
  if (evicted > 0) deps.logger.warn('outbound queue full; evicted non-durable events', { ...fields, evicted });
  deps.logger.debug('event queued', fields);
  deps.kick();
}

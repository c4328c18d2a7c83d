// LocalEmitEvent → the durable outbound queue, then a drain kick (design §2
// invariant 8: disk before network). The envelope is built here with the
// machine id as hostname (reference agent-runtime.md §7).
import type { EffectOf } from '../codecs/effects';
import type { AgentEventEnvelope } from '../codecs/events';
import { AgentEventEnvelope as EnvelopeCodec } from '../codecs/events';
import type { Logger } from '../ports/logger';
import type { OutboundQueuePort } from '../ports/store';

export interface OutboundSinkDeps {
  readonly queue: OutboundQueuePort;
  readonly machineId: string;
  readonly kick: () => void;
  readonly logger: Logger;
}

export function applyEmitEffect(deps: OutboundSinkDeps, effect: EffectOf<'LocalEmitEvent'>): void {
  const { payload, rolloutId } = effect;
  const fields = { rolloutId, kind: payload.kind, seq: payload.seq };
  // SQLite calls complete synchronously, so the event is on disk before this
  // returns and before the reducer takes its next input.
  deps.queue
    .enqueue({
      rolloutId,
      kind: payload.kind,
      durable: effect.durable,
      seqAtLeast: payload.seq,
      build: (seq) => {
        const envelope: AgentEventEnvelope = { hostname: deps.machineId, rolloutId, event: { ...payload, seq } };
        return EnvelopeCodec.encode(envelope);
      },
    })
    .subscribe({
      next: (queued) => {
        if (queued.seq !== payload.seq) deps.logger.warn('queue assigned a higher seq than the reducer', { ...fields, queuedSeq: queued.seq });
        if (queued.evicted > 0) deps.logger.warn('outbound queue full; evicted non-durable events', { ...fields, evicted: queued.evicted });
        deps.logger.debug('event queued', fields);
        deps.kick();
      },
      error: (err: unknown) => deps.logger.error('event LOST: could not be queued', { ...fields, error: err instanceof Error ? err.message : String(err) }),
    });
}

// The Rust agent's outbound queue on disk, read and written here so a host
// can swap agents mid-rollout without losing an undelivered event
// (docs/store.md, "The Rust agent's queue"). Upstream
// (crates/nixfleet-agent/src/runtime/outbound_queue.rs) keeps one file per
// event in `{state}/outbound-queue/`, named
// `{seq:020}-{hostname}-{rollout}-{kind}.json` (each of the three parts with
// every character outside [A-Za-z0-9@.-] replaced by `_`), holding serde's
// pretty JSON (2-space indent, no trailing newline) of
// `{seq, hostname, rollout_id, event_kind, created_at, payload}` where
// `payload` is the wire AgentEvent. Its scan reads names ending `.json`
// only (a `.json.tmp` is a write that never finished) and deletes a file
// after the CP's 2xx.
import * as E from 'fp-ts/Either';
import { decodeJson } from '../../codecs/decode';
import { AgentEvent, AgentEventEnvelope, type AgentEventKind } from '../../codecs/events';
import { RolloutId, Seq, Text } from '../../codecs/scalars';
import { req, struct } from '../../codecs/struct';
import { TimestampCodec, type Timestamp } from '../../codecs/timestamp';

export const UPSTREAM_QUEUE_DIR = 'outbound-queue';

/** One queued event as upstream's `QueuedEvent` (field names and order as serde writes them). */
export const UpstreamQueuedEvent = struct('QueuedEvent', {
  seq: req(Seq),
  hostname: req(Text),
  rollout_id: req(RolloutId),
  event_kind: req(Text),
  created_at: req(TimestampCodec),
  payload: req(AgentEvent),
});
export interface UpstreamQueuedEvent {
  readonly seq: number;
  readonly hostname: string;
  readonly rollout_id: string;
  readonly event_kind: string;
  readonly created_at: Timestamp;
  readonly payload: AgentEvent;
}

/** A queue file that cannot be taken: which file, and why. */
export class UpstreamQueueFileError extends Error {
  override readonly name = 'UpstreamQueueFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** The names upstream's scan reads: `.json`, never a `.json.tmp` partial. */
export const isQueueFileName = (name: string): boolean => name.endsWith('.json');

/**
 * A queue file's text → the event, or why not. Beyond the shape, the file
 * must agree with itself: the payload's seq and kind are the ones upstream
 * names the file by and the CP deduplicates on.
 */
export function decodeQueueFile(file: string, text: string): E.Either<UpstreamQueueFileError, UpstreamQueuedEvent> {
  const r = decodeJson(UpstreamQueuedEvent, text);
  if (E.isLeft(r)) return E.left(new UpstreamQueueFileError(file, r.left.message));
  const ev = r.right;
  if (ev.payload.seq !== ev.seq) return E.left(new UpstreamQueueFileError(file, `payload.seq ${ev.payload.seq} differs from seq ${ev.seq}`));
  if (ev.payload.kind !== ev.event_kind) return E.left(new UpstreamQueueFileError(file, `payload.kind ${ev.payload.kind} differs from event_kind ${ev.event_kind}`));
  return E.right(ev);
}

const sanitize = (s: string): string => s.replace(/[^A-Za-z0-9@.-]/g, '_');

/** Upstream's file name for the event. */
export const queueFileName = (ev: UpstreamQueuedEvent): string =>
  `${String(ev.seq).padStart(20, '0')}-${sanitize(ev.hostname)}-${sanitize(ev.rollout_id)}-${sanitize(ev.event_kind)}.json`;

/** serde_json's `to_vec_pretty` of the event: JSON.stringify's 2-space layout is the same bytes for these shapes. */
export const queueFileText = (ev: UpstreamQueuedEvent): string => JSON.stringify(UpstreamQueuedEvent.encode(ev), null, 2);

// Probe chatter, which our overflow policy may evict (the reducer marks the same kinds).
const NON_DURABLE = new Set<AgentEventKind>(['ProbeObservedFirst', 'ProbeResult', 'ProbeFailureFirst']);
export const isDurableKind = (kind: AgentEventKind): boolean => !NON_DURABLE.has(kind);

/** The POST body upstream's drainer makes of a queued event (no signature), as our queue stores it. */
export const envelopeOf = (ev: UpstreamQueuedEvent): unknown =>
  AgentEventEnvelope.encode({ hostname: ev.hostname, rolloutId: ev.rollout_id, event: ev.payload });

/** A stored envelope (our queue's body) → upstream's event, or why not. */
export function fromEnvelope(body: string, rolloutId: string, seq: number, createdAt: Timestamp): E.Either<string, UpstreamQueuedEvent> {
  const r = decodeJson(AgentEventEnvelope, body);
  if (E.isLeft(r)) return E.left(r.left.message);
  const env = r.right;
  if (env.rolloutId !== rolloutId || env.event.seq !== seq) return E.left(`the envelope names ${env.rolloutId} seq ${env.event.seq}, the row ${rolloutId} seq ${seq}`);
  return E.right({ seq, hostname: env.hostname, rollout_id: rolloutId, event_kind: env.event.kind, created_at: createdAt, payload: env.event });
}

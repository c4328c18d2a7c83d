// The durable store as the stream graph sees it (design §2 rule 6). The real
// adapter is src/io/store; sources and sinks only know this file.
//
// Two kinds of call. `enqueueNow` is synchronous: the applier calls it inside
// the reducer turn that produced the event, so the event is on disk before the
// turn ends and before any drain can send it (disk before network is this
// signature, not a property of one adapter). Everything else is a cold
// Observable that does its work on subscribe and emits once.
//
// The seq is the reducer's (src/reducer/agent.ts assigns every Local event's):
// the store records it and refuses one at or below the rollout's counter, so a
// seq is never reused and never silently changed.
import type { Observable } from 'rxjs';
import type { Logger } from './logger';

/** The part of the logger port the store writes to (moved-aside files, evictions, dead letters). */
export type StoreLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/**
 * What went wrong, for the caller to branch on:
 * - `queue-full`: the bound is reached and nothing may be evicted (docs/store.md);
 * - `too-large`, `invalid-argument`: the caller's input; retrying won't help;
 * - `disk-full` (SQLITE_FULL / ENOSPC), `read-only` (EROFS, EACCES, SQLITE_READONLY);
 * - `corrupt`: found while running; reopening moves the file aside;
 * - `seq-reused`: a seq at or below the rollout's counter — a bug in the caller;
 *   nothing is written;
 * - `closed`: the store was closed; `io`: anything else from the disk.
 */
export type StoreErrorCode =
  | 'queue-full'
  | 'too-large'
  | 'invalid-argument'
  | 'disk-full'
  | 'read-only'
  | 'corrupt'
  | 'seq-reused'
  | 'closed'
  | 'io';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isStoreError = (e: unknown): e is StoreError => e instanceof StoreError;

export interface EnqueueRequest {
  readonly rolloutId: string;
  /** The reducer's seq for this event, also the one inside `envelope`; must exceed the rollout's counter. */
  readonly seq: number;
  /** Event kind, for logs, status and the dead-letter table only. */
  readonly kind: string;
  /** `false` marks an event the overflow policy may evict (probe chatter). */
  readonly durable: boolean;
  /** The wire envelope; must be JSON-serialisable. */
  readonly envelope: unknown;
}

export interface Enqueued {
  readonly id: number;
  /** Non-durable events evicted to make room (0 almost always). */
  readonly evicted: number;
}

export interface QueuedEvent {
  /** Enqueue order; never reused within one database file. */
  readonly id: number;
  readonly rolloutId: string;
  readonly seq: number;
  readonly kind: string;
  readonly durable: boolean;
  /** The envelope exactly as stored (JSON text), to be sent as the request body. */
  readonly body: string;
  readonly enqueuedAt: string;
}

export interface DeadLetter {
  readonly id: number;
  readonly rolloutId: string;
  readonly seq: number;
  readonly kind: string;
  readonly body: string;
  readonly enqueuedAt: string;
  readonly deadAt: string;
  readonly reason: string;
}

export interface QueueStats {
  readonly queued: number;
  readonly queuedBytes: number;
  readonly deadLettered: number;
}

export interface ConfirmedClosure {
  readonly closure: string;
  readonly confirmedAt: string;
}

/** A manifest the trust layer already verified; opaque bytes to the store. */
export interface CachedManifest {
  readonly rolloutId: string;
  readonly raw: Uint8Array;
  readonly signature: Uint8Array;
  readonly verifiedAt: string;
}

export interface CertificateMeta {
  readonly serial: string;
  /** e.g. hex SHA-256 of the DER certificate */
  readonly fingerprint: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface OutboundQueuePort {
  /** Writes the event durably before it returns; throws a StoreError when it cannot. */
  enqueueNow(request: EnqueueRequest): Enqueued;
  /** The oldest `limit` events: per rollout by seq, across rollouts by enqueue order. */
  pending(limit: number): Observable<readonly QueuedEvent[]>;
  /**
   * Call only after a 2xx for every one of `ids`: removes them in one write
   * (one transaction, one fsync, for a drain pass's delivered events) and
   * emits how many rows it removed (an id already gone is skipped).
   */
  ack(ids: readonly number[]): Observable<number>;
  /** Moves a poison event aside with its reason so it stops blocking the rest. */
  deadLetter(id: number, reason: string): Observable<boolean>;
  stats(): Observable<QueueStats>;
  deadLetters(limit: number): Observable<readonly DeadLetter[]>;
}

/** One rollout record as JSON text (the HostRolloutState codec's output). */
export interface RolloutRecordRow {
  readonly rolloutId: string;
  readonly record: string;
  readonly updatedAt: string;
  /** The SignedIntent codec's JSON, for a record the agent dispatched itself. */
  readonly signedIntent?: string;
}

export interface AgentStatePort {
  /** Replaces the stored rollout records with `records`, in one transaction. */
  saveRollouts(records: readonly RolloutRecordRow[]): Observable<void>;
  rollouts(): Observable<readonly RolloutRecordRow[]>;
  lastConfirmedClosure(): Observable<ConfirmedClosure | undefined>;
  manifest(rolloutId: string): Observable<CachedManifest | undefined>;
  putManifest(manifest: CachedManifest): Observable<void>;
  certificate(): Observable<CertificateMeta | undefined>;
  putCertificate(meta: CertificateMeta): Observable<void>;
}

/** Where the applier records a ConfirmClosure effect, inside the reducer turn (like `enqueueNow`). */
export interface ConfirmedClosurePort {
  /** Records it durably before it returns; throws a StoreError when it cannot. */
  confirmNow(closure: ConfirmedClosure): void;
}

export interface StorePort extends OutboundQueuePort, AgentStatePort, ConfirmedClosurePort {}

// The daemon's outbound queue: the durable store, plus a bounded list in
// memory for events the disk would not take (full, read-only, failing).
// Losing an event because the disk filled up mid-rollout would leave the CP
// one transition behind for good; holding it keeps it, in order, until the
// disk takes it again — and the drainer sends it from memory meanwhile.
//
// Held events keep the reducer's seq (the only seq authority), so the disk
// takes them later with the seq they were reported under. They live only as
// long as the process: a SIGKILL while the disk is full loses them, together
// with the records of that turn, which the disk refused too — the CP's boot
// handshake then re-sends the state (docs/store.md).
import { StoreError, type Enqueued, type EnqueueRequest, type QueuedEvent, type QueueStats, type StoreErrorCode, type StoreLogger } from '../../ports/store';
import type { AgentStore } from './agent-store';
import { toStoreError } from './errors';

/**
 * Held events at most. Sizing: one rollout queues ~10 transitions plus one
 * probe result per probe and tick; 1,000 covers hours of a full disk at ~1 KiB
 * each (1 MiB of memory). Beyond it the oldest non-durable (probe) event is
 * dropped, as the disk queue's overflow policy does; with none, the event is
 * refused with the disk's error.
 */
export const HELD_CAPACITY = 1_000;

// What a disk can do to us that a later write may not: worth holding.
const HOLDABLE: ReadonlySet<StoreErrorCode> = new Set<StoreErrorCode>(['disk-full', 'read-only', 'io', 'corrupt']);

interface Held {
  readonly request: EnqueueRequest;
  /** Negative, so it can never collide with a row id. */
  readonly id: number;
  readonly body: string;
  readonly heldAt: string;
}

export interface OutboxStats extends QueueStats {
  /** Events waiting in memory because the disk refused them. */
  readonly held: number;
}

export class Outbox {
  private held: Held[] = [];
  private nextId = -1;
  /** Requests written inside the current outermost `atomically`, oldest first. */
  private written: EnqueueRequest[] | undefined;

  constructor(
    private readonly store: AgentStore,
    private readonly logger: StoreLogger,
    private readonly clock: () => string,
    private readonly capacity = HELD_CAPACITY,
  ) {}

  enqueue(request: EnqueueRequest): Enqueued {
    this.flush();
    if (this.held.length === 0) {
      try {
        const done = this.store.enqueue(request);
        this.written?.push(request);
        return done;
      } catch (e) {
        const err = toStoreError(e, 'enqueue');
        if (!HOLDABLE.has(err.code)) throw err;
        return this.hold(request, err);
      }
    }
    return this.hold(request, undefined);
  }

  /** Disk rows first (they are older), then held events; a flush is tried first. */
  pending(limit: number): QueuedEvent[] {
    this.flush();
    let rows: QueuedEvent[] = [];
    try {
      rows = this.store.pending(limit);
    } catch (e) {
      if (this.held.length === 0) throw e;
    }
    const room = Math.max(0, limit - rows.length);
    return [...rows, ...this.held.slice(0, room).map((h) => this.asQueued(h))];
  }

  ack(id: number): boolean {
    if (id > 0) return this.store.ack(id);
    const i = this.held.findIndex((h) => h.id === id);
    if (i < 0) return false;
    this.held.splice(i, 1);
    this.noteIfEmpty('delivered');
    return true;
  }

  /** Held events first (memory cannot refuse), then the disk rows in one transaction. */
  ackAll(ids: readonly number[]): number {
    let n = 0;
    for (const id of ids) if (id <= 0 && this.ack(id)) n += 1;
    const onDisk = ids.filter((id) => id > 0);
    return onDisk.length > 0 ? n + this.store.ackAll(onDisk) : n;
  }

  deadLetter(id: number, reason: string): boolean {
    if (id > 0) return this.store.deadLetter(id, reason);
    const i = this.held.findIndex((h) => h.id === id);
    const victim = this.held[i];
    if (victim === undefined) return false;
    this.held.splice(i, 1);
    const { rolloutId, kind, seq } = victim.request;
    this.logger.error('outbound event dead-lettered from memory (the disk refused it; not kept)', { rolloutId, kind, seq, reason, body: victim.body });
    this.noteIfEmpty('dead-lettered');
    return true;
  }

  /**
   * `AgentStore.atomically`, and if the commit fails, every event written
   * inside goes back to the front of the held list (the rollback undid it),
   * so the turn's events are not lost with it.
   */
  atomically<T>(f: () => T): T {
    if (this.written !== undefined) return this.store.atomically(f);
    this.written = [];
    try {
      return this.store.atomically(f);
    } catch (e) {
      const undone = this.written;
      if (undone.length > 0) {
        this.held = [...undone.map((w) => this.entry(w)), ...this.held];
        this.logger.warn('commit failed: its events are held in memory until the disk takes them', { held: this.held.length, error: toStoreError(e, 'commit').message });
        this.trim();
      }
      throw e;
    } finally {
      this.written = undefined;
    }
  }

  stats(): OutboxStats {
    const held = this.held.length;
    try {
      const s = this.store.stats();
      return { ...s, queued: s.queued + held, held };
    } catch (e) {
      if (held === 0) throw e;
      return { queued: held, queuedBytes: 0, deadLettered: 0, held };
    }
  }

  /** Moves held events to the disk, oldest first, until it refuses one. */
  private flush(): void {
    while (this.held.length > 0) {
      const next = this.held[0] as Held;
      try {
        this.store.enqueue(next.request);
      } catch (e) {
        const err = toStoreError(e, 'enqueue');
        if (HOLDABLE.has(err.code)) return;
        // The disk queue refuses it for good (queue-full, too-large, seq-reused): it was reported as queued, so say so loudly.
        this.held.shift();
        const { rolloutId, kind, seq } = next.request;
        this.logger.error('event LOST: held in memory, then refused by the queue', { rolloutId, kind, seq, code: err.code, error: err.message });
        continue;
      }
      this.held.shift();
      this.written?.push(next.request);
      this.noteIfEmpty('written to disk');
    }
  }

  private noteIfEmpty(last: string): void {
    if (this.held.length === 0) this.logger.info('no event held in memory any more', { last });
  }

  private hold(request: EnqueueRequest, cause: StoreError | undefined): Enqueued {
    const { rolloutId, kind, seq } = request;
    const last = this.lastHeldSeq(rolloutId);
    if (last !== undefined && seq <= last) {
      throw new StoreError('seq-reused', `seq ${seq} of ${kind} for ${rolloutId} is not above the last held seq ${last}; not held`);
    }
    const entry = this.entry(request);
    this.held.push(entry);
    const evicted = this.trim();
    if (!this.held.includes(entry)) {
      throw new StoreError('disk-full', `the disk refuses events and ${this.capacity} are held in memory already; refusing ${request.kind} for ${request.rolloutId}`);
    }
    this.logger.warn('the disk refused an event: held in memory', { rolloutId, kind, seq, held: this.held.length, ...(cause ? { error: cause.message } : {}) });
    return { id: entry.id, evicted };
  }

  /** The newest held event's seq for the rollout (held events are in seq order per rollout). */
  private lastHeldSeq(rolloutId: string): number | undefined {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const h = this.held[i] as Held;
      if (h.request.rolloutId === rolloutId) return h.request.seq;
    }
    return undefined;
  }

  private entry(request: EnqueueRequest): Held {
    const id = this.nextId;
    this.nextId -= 1;
    return { request, id, body: JSON.stringify(request.envelope), heldAt: this.clock() };
  }

  /** Over capacity: drop the oldest non-durable events, else the newest. Returns how many were dropped. */
  private trim(): number {
    let dropped = 0;
    while (this.held.length > this.capacity) {
      const i = this.held.findIndex((h) => !h.request.durable);
      const victim = this.held.splice(i >= 0 ? i : this.held.length - 1, 1)[0];
      dropped += i >= 0 ? 1 : 0;
      if (victim !== undefined) this.logger.warn('held events over capacity: dropped one', { rolloutId: victim.request.rolloutId, kind: victim.request.kind, seq: victim.request.seq, durable: victim.request.durable });
    }
    return dropped;
  }

  private asQueued(h: Held): QueuedEvent {
    return { id: h.id, rolloutId: h.request.rolloutId, seq: h.request.seq, kind: h.request.kind, durable: h.request.durable, body: h.body, enqueuedAt: h.heldAt };
  }
}

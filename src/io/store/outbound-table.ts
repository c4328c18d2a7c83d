// The outbound queue's SQLite table and the per-rollout seq counters. (The
// names: OutboundQueuePort is what the graph sees, Outbox the daemon's adapter
// behind it — this table plus events held in memory — and OutboundTable the
// rows on disk.) The reducer assigns every seq; the table records it with its envelope in one transaction and
// refuses a seq at or below the rollout's counter (a bug upstream of it, not
// something to paper over by renumbering), so a seq is written once per
// database, across restarts and CP snapshots (reference/agent-runtime.md §18
// items 11 and 13). The daemon seeds the reducer with every counter at start.
import type Database from 'better-sqlite3';
import {
  StoreError,
  type DeadLetter,
  type Enqueued,
  type EnqueueRequest,
  type QueuedEvent,
  type QueueStats,
  type StoreLogger,
} from '../../ports/store';
import { MAX_REASON_CHARS, type StoreLimits } from './limits';

interface OutboundRow {
  id: number;
  rollout_id: string;
  seq: number;
  kind: string;
  durable: number;
  body: string;
  bytes: number;
  enqueued_at: string;
}

interface DeadRow {
  id: number;
  rollout_id: string;
  seq: number;
  kind: string;
  body: string;
  enqueued_at: string;
  dead_at: string;
  reason: string;
}

interface Eviction {
  rows: number;
  bytes: number;
  first?: OutboundRow;
}

const NO_EVICTION: Eviction = { rows: 0, bytes: 0 };

const toQueued = (r: OutboundRow): QueuedEvent => ({
  id: r.id,
  rolloutId: r.rollout_id,
  seq: r.seq,
  kind: r.kind,
  durable: r.durable !== 0,
  body: r.body,
  enqueuedAt: r.enqueued_at,
});

const toDead = (r: DeadRow): DeadLetter => ({
  id: r.id,
  rolloutId: r.rollout_id,
  seq: r.seq,
  kind: r.kind,
  body: r.body,
  enqueuedAt: r.enqueued_at,
  deadAt: r.dead_at,
  reason: r.reason,
});

export const requireCount = (name: string, n: number, min: number): void => {
  if (!Number.isSafeInteger(n) || n < min) throw new StoreError('invalid-argument', `${name} must be an integer >= ${min}, got ${n}`);
};

export const requireText = (name: string, s: string): void => {
  if (typeof s !== 'string' || s.length === 0) throw new StoreError('invalid-argument', `${name} must be a non-empty string`);
};

const OUTBOUND_COLUMNS = 'id, rollout_id, seq, kind, durable, body, bytes, enqueued_at';

export class OutboundTable {
  // kept in memory (recounted at open) so enqueue need not scan the table;
  // updated only after a transaction commits
  private count: number;
  private bytes: number;

  private readonly q;
  private readonly enqueueTx;
  private readonly buryTx;

  constructor(
    db: Database.Database,
    private readonly limits: StoreLimits,
    private readonly logger: StoreLogger,
    private readonly clock: () => string,
  ) {
    this.q = {
      totals: db.prepare<[], { n: number; b: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM outbound'),
      counter: db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM seq_counter WHERE rollout_id = ?'),
      counters: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM seq_counter'),
      allCounters: db.prepare<[], { rollout_id: string; last_seq: number }>('SELECT rollout_id, last_seq FROM seq_counter'),
      raiseCounter: db.prepare<[string, number]>(
        `INSERT INTO seq_counter (rollout_id, last_seq) VALUES (?, ?)
         ON CONFLICT (rollout_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)`,
      ),
      pruneCounters: db.prepare<[number]>(
        `DELETE FROM seq_counter WHERE rowid IN (
           SELECT c.rowid FROM seq_counter c
           WHERE NOT EXISTS (SELECT 1 FROM outbound o WHERE o.rollout_id = c.rollout_id)
           ORDER BY c.rowid LIMIT ?)`,
      ),
      insert: db.prepare<[string, number, string, number, string, number, string]>(
        `INSERT INTO outbound (rollout_id, seq, kind, durable, body, bytes, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      evictable: db.prepare<[number], OutboundRow>(
        `SELECT ${OUTBOUND_COLUMNS} FROM outbound WHERE durable = 0 ORDER BY id LIMIT ?`,
      ),
      pending: db.prepare<[number], OutboundRow>(`SELECT ${OUTBOUND_COLUMNS} FROM outbound ORDER BY id LIMIT ?`),
      remove: db.prepare<[number], OutboundRow>(`DELETE FROM outbound WHERE id = ? RETURNING ${OUTBOUND_COLUMNS}`),
      bury: db.prepare<[number, string, number, string, string, string, string, string]>(
        `INSERT INTO dead_letter (outbound_id, rollout_id, seq, kind, body, enqueued_at, dead_at, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      pruneDead: db.prepare<[number]>(
        `DELETE FROM dead_letter WHERE id NOT IN (SELECT id FROM dead_letter ORDER BY id DESC LIMIT ?)`,
      ),
      deadCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letter'),
      dead: db.prepare<[number], DeadRow>(
        'SELECT id, rollout_id, seq, kind, body, enqueued_at, dead_at, reason FROM dead_letter ORDER BY id DESC LIMIT ?',
      ),
    };
    this.enqueueTx = db.transaction((req: EnqueueRequest) => this.enqueueRows(req));
    this.buryTx = db.transaction((id: number, reason: string) => this.buryRow(id, reason));
    this.count = 0;
    this.bytes = 0;
    this.resync();
  }

  /** Re-reads the cached totals; needed after an enclosing transaction rolled back. */
  resync(): void {
    const t = this.q.totals.get();
    this.count = t?.n ?? 0;
    this.bytes = t?.b ?? 0;
  }

  enqueue(req: EnqueueRequest): Enqueued {
    requireText('rolloutId', req.rolloutId);
    requireText('kind', req.kind);
    requireCount('seq', req.seq, 1);
    const { result, eviction, bytes } = this.enqueueTx(req);
    this.count += 1 - eviction.rows;
    this.bytes += bytes - eviction.bytes;
    if (eviction.rows > 0) {
      this.logger.warn('outbound queue full: evicted the oldest non-durable events', {
        evicted: eviction.rows,
        evictedBytes: eviction.bytes,
        oldestEvicted: eviction.first && { rolloutId: eviction.first.rollout_id, seq: eviction.first.seq, kind: eviction.first.kind },
        queued: this.count,
      });
    }
    return result;
  }

  private enqueueRows(req: EnqueueRequest): { result: Enqueued; eviction: Eviction; bytes: number } {
    const last = this.q.counter.get(req.rolloutId)?.last_seq;
    if (last !== undefined && req.seq <= last) {
      throw new StoreError('seq-reused', `seq ${req.seq} of ${req.kind} for ${req.rolloutId} is not above the rollout's last queued seq ${last}; not written`);
    }
    if (last === undefined) this.makeCounterRoom();
    const { seq } = req;
    const body = serialise(req);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > this.limits.maxEnvelopeBytes) {
      throw new StoreError('too-large', `envelope of ${bytes} bytes exceeds ${this.limits.maxEnvelopeBytes} (${req.kind})`);
    }
    const eviction = this.makeRoom(bytes, req);
    this.q.raiseCounter.run(req.rolloutId, seq);
    const info = this.q.insert.run(req.rolloutId, seq, req.kind, req.durable ? 1 : 0, body, bytes, this.clock());
    return { result: { id: Number(info.lastInsertRowid), evicted: eviction.rows }, eviction, bytes };
  }

  private fits(rows: number, bytes: number): boolean {
    return rows <= this.limits.maxQueuedEvents && bytes <= this.limits.maxQueuedBytes;
  }

  // Overflow policy (limits.ts): evict the oldest non-durable rows, at least
  // a batch of them; if that cannot make room, refuse. Runs inside the
  // enqueue transaction, so a refusal also undoes the evictions.
  private makeRoom(bytes: number, req: EnqueueRequest): Eviction {
    if (this.fits(this.count + 1, this.bytes + bytes)) return NO_EVICTION;
    const ev: Eviction = { rows: 0, bytes: 0 };
    const batch = Math.max(1, this.limits.evictionBatch);
    while (ev.rows < batch || !this.fits(this.count + 1 - ev.rows, this.bytes + bytes - ev.bytes)) {
      // rows evicted so far are gone from the table, so this reads the next ones
      const victims = this.q.evictable.all(batch);
      if (victims.length === 0) break;
      for (const v of victims) {
        this.q.remove.run(v.id);
        ev.first ??= v;
        ev.rows += 1;
        ev.bytes += v.bytes;
        if (ev.rows >= batch && this.fits(this.count + 1 - ev.rows, this.bytes + bytes - ev.bytes)) break;
      }
    }
    if (!this.fits(this.count + 1 - ev.rows, this.bytes + bytes - ev.bytes)) {
      throw new StoreError(
        'queue-full',
        `outbound queue full (${this.count} events, ${this.bytes} bytes) and nothing left to evict; refusing ${req.kind} for ${req.rolloutId}`,
      );
    }
    return ev;
  }

  private makeCounterRoom(): void {
    const n = this.q.counters.get()?.n ?? 0;
    if (n >= this.limits.maxSeqCounters) this.q.pruneCounters.run(n - this.limits.maxSeqCounters + 1);
  }

  pending(limit: number): QueuedEvent[] {
    requireCount('limit', limit, 1);
    return this.q.pending.all(limit).map(toQueued);
  }

  ack(id: number): boolean {
    requireCount('id', id, 1);
    const row = this.q.remove.get(id);
    if (row === undefined) return false;
    this.count -= 1;
    this.bytes -= row.bytes;
    return true;
  }

  deadLetter(id: number, reason: string): boolean {
    requireCount('id', id, 1);
    const why = reason.slice(0, MAX_REASON_CHARS);
    const row = this.buryTx(id, why);
    if (row === undefined) return false;
    this.count -= 1;
    this.bytes -= row.bytes;
    this.logger.error('outbound event dead-lettered: the control plane will never accept it', {
      rolloutId: row.rollout_id,
      seq: row.seq,
      kind: row.kind,
      reason: why,
    });
    return true;
  }

  private buryRow(id: number, reason: string): OutboundRow | undefined {
    const row = this.q.remove.get(id);
    if (row === undefined) return undefined;
    this.q.bury.run(row.id, row.rollout_id, row.seq, row.kind, row.body, row.enqueued_at, this.clock(), reason);
    this.q.pruneDead.run(this.limits.maxDeadLetters);
    return row;
  }

  lastSeq(rolloutId: string): number {
    return this.q.counter.get(rolloutId)?.last_seq ?? 0;
  }

  /** Every rollout's counter (at most limits.maxSeqCounters): the reducer's seq floors at start. */
  seqCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.q.allCounters.all()) out[r.rollout_id] = r.last_seq;
    return out;
  }

  stats(): QueueStats {
    return { queued: this.count, queuedBytes: this.bytes, deadLettered: this.q.deadCount.get()?.n ?? 0 };
  }

  deadLetters(limit: number): DeadLetter[] {
    requireCount('limit', limit, 1);
    return this.q.dead.all(limit).map(toDead);
  }
}

// Inside the transaction: if it throws, nothing is written.
const serialise = (req: EnqueueRequest): string => {
  let body: string | undefined;
  try {
    body = JSON.stringify(req.envelope) as string | undefined;
  } catch (e) {
    throw new StoreError('invalid-argument', `serialising the ${req.kind} envelope failed: ${String(e)}`, { cause: e });
  }
  if (body === undefined) throw new StoreError('invalid-argument', `the ${req.kind} envelope is not JSON-serialisable`);
  return body;
};

// An in-memory OutboundQueuePort with the real queue's ordering and seq rules
// (per rollout by seq, across rollouts by enqueue order; a seq at or below the
// rollout's counter is refused), for graph specs that do not need a file. The
// SQLite queue has its own specs.
import { defer, of, type Observable } from 'rxjs';
import { StoreError, type DeadLetter, type Enqueued, type EnqueueRequest, type OutboundQueuePort, type QueuedEvent, type QueueStats } from '../ports/store';

/** The seq rule every queue shares: the caller's seq must exceed the rollout's counter. Row ids count up. */
export abstract class SeqCounters {
  readonly counters = new Map<string, number>();
  private nextId = 1;

  /** Records the request's seq (or throws `seq-reused`) and hands out the row id. */
  protected record(req: EnqueueRequest): number {
    const last = this.counters.get(req.rolloutId);
    if (last !== undefined && req.seq <= last) {
      throw new StoreError('seq-reused', `seq ${req.seq} of ${req.kind} for ${req.rolloutId} is not above the rollout's last queued seq ${last}`);
    }
    this.counters.set(req.rolloutId, req.seq);
    return this.nextId++;
  }
}

export class MemoryQueue extends SeqCounters implements OutboundQueuePort {
  readonly rows: QueuedEvent[] = [];
  readonly dead: DeadLetter[] = [];
  /** Every envelope ever enqueued, in order (survives acks). */
  readonly history: string[] = [];

  enqueueNow(req: EnqueueRequest): Enqueued {
    const id = this.record(req);
    const body = JSON.stringify(req.envelope);
    this.rows.push({ id, rolloutId: req.rolloutId, seq: req.seq, kind: req.kind, durable: req.durable, body, enqueuedAt: '' });
    this.history.push(body);
    return { id, evicted: 0 };
  }
  pending(limit: number): Observable<readonly QueuedEvent[]> {
    return defer(() => of(this.rows.slice(0, limit)));
  }
  ack(ids: readonly number[]): Observable<number> {
    return defer(() => of(ids.filter((id) => this.remove(id) !== undefined).length));
  }
  deadLetter(id: number, reason: string): Observable<boolean> {
    return defer(() => {
      const row = this.remove(id);
      if (row !== undefined) this.dead.push({ id, rolloutId: row.rolloutId, seq: row.seq, kind: row.kind, body: row.body, enqueuedAt: '', deadAt: '', reason });
      return of(row !== undefined);
    });
  }
  stats(): Observable<QueueStats> {
    return defer(() => of({ queued: this.rows.length, queuedBytes: this.rows.reduce((n, r) => n + r.body.length, 0), deadLettered: this.dead.length }));
  }
  deadLetters(limit: number): Observable<readonly DeadLetter[]> {
    return defer(() => of(this.dead.slice(0, limit)));
  }
  private remove(id: number): QueuedEvent | undefined {
    const i = this.rows.findIndex((r) => r.id === id);
    return i < 0 ? undefined : this.rows.splice(i, 1)[0];
  }
}

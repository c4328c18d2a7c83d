// An in-memory OutboundQueuePort with the real queue's ordering and seq rules
// (per rollout by seq, across rollouts by enqueue order; seqs never reused),
// for graph specs that do not need a file. The SQLite queue has its own specs.
import { defer, of, type Observable } from 'rxjs';
import type { DeadLetter, Enqueued, EnqueueRequest, OutboundQueuePort, QueuedEvent, QueueStats } from '../ports/store';

/** Per-rollout seq counters (a seq is never reused, a floor only raises them) and row ids: what every in-memory queue shares. */
export abstract class SeqCounters {
  readonly counters = new Map<string, number>();
  private nextId = 1;

  protected assign(req: EnqueueRequest): { id: number; seq: number } {
    const seq = Math.max((this.counters.get(req.rolloutId) ?? 0) + 1, req.seqAtLeast ?? 0);
    this.counters.set(req.rolloutId, seq);
    return { id: this.nextId++, seq };
  }
  raiseSeqFloor(rolloutId: string, lastSeq: number): Observable<number> {
    return defer(() => {
      const v = Math.max(this.counters.get(rolloutId) ?? 0, lastSeq);
      this.counters.set(rolloutId, v);
      return of(v);
    });
  }
  lastSeq(rolloutId: string): Observable<number> {
    return defer(() => of(this.counters.get(rolloutId) ?? 0));
  }
}

export class MemoryQueue extends SeqCounters implements OutboundQueuePort {
  readonly rows: QueuedEvent[] = [];
  readonly dead: DeadLetter[] = [];
  /** Every envelope ever enqueued, in order (survives acks). */
  readonly history: string[] = [];

  enqueue(req: EnqueueRequest): Observable<Enqueued> {
    return defer(() => {
      const { id, seq } = this.assign(req);
      const body = JSON.stringify(req.build(seq));
      const row: QueuedEvent = { id, rolloutId: req.rolloutId, seq, kind: req.kind, durable: req.durable, body, enqueuedAt: '' };
      this.rows.push(row);
      this.history.push(body);
      return of({ id: row.id, seq, evicted: 0 });
    });
  }
  pending(limit: number): Observable<readonly QueuedEvent[]> {
    return defer(() => of(this.rows.slice(0, limit)));
  }
  ack(id: number): Observable<boolean> {
    return defer(() => of(this.remove(id) !== undefined));
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

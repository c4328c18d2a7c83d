// The synchronous store: one SQLite file under --state-dir, opened once.
// The daemon and the `status` command use it directly; the stream graph sees
// it through the Observable port (./port.ts). Every method throws only
// StoreError, never a raw SQLite or file-system error.
import type Database from 'better-sqlite3';
import * as path from 'node:path';
import {
  StoreError,
  type CachedManifest,
  type CertificateMeta,
  type ConfirmedClosure,
  type DeadLetter,
  type Enqueued,
  type EnqueueRequest,
  type QueuedEvent,
  type QueueStats,
  type RolloutRecordRow,
  type StoreLogger,
} from '../../ports/store';
import { guarded } from './errors';
import { DEFAULT_LIMITS, type StoreLimits } from './limits';
import { DB_FILE_NAME, openDatabase } from './open';
import { OutboundTable } from './outbound-table';
import type { Migration } from './schema';
import { StateTables } from './state';

export interface AgentStoreOptions {
  readonly stateDir: string;
  readonly logger: StoreLogger;
  /** RFC 3339 "now" for bookkeeping stamps (enqueuedAt, deadAt, moved-aside names). */
  readonly clock: () => string;
  readonly limits?: Partial<StoreLimits>;
  /** Tests only: a different migration list. */
  readonly migrations?: readonly Migration[];
}

export class AgentStore {
  private closed = false;
  /** Depth of `atomically` calls in progress. */
  private scopes = 0;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    private readonly queue: OutboundTable,
    private readonly state: StateTables,
  ) {}

  /** Opens or creates the database; throws StoreError (`read-only`, `disk-full`, `io`, ...). */
  static open(o: AgentStoreOptions): AgentStore {
    const limits: StoreLimits = { ...DEFAULT_LIMITS, ...o.limits };
    const db = openDatabase({
      stateDir: o.stateDir,
      logger: o.logger,
      clock: o.clock,
      maxDatabaseBytes: limits.maxDatabaseBytes,
      ...(o.migrations ? { migrations: o.migrations } : {}),
    });
    try {
      return new AgentStore(
        path.join(o.stateDir, DB_FILE_NAME),
        db,
        new OutboundTable(db, limits, o.logger, o.clock),
        new StateTables(db, limits),
      );
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private run<T>(doing: string, f: () => T): T {
    if (this.closed) throw new StoreError('closed', `${doing}: the store is closed`);
    // SQLite may roll a whole transaction back on SQLITE_FULL/IOERR; later
    // calls in the same `atomically` would then each commit on their own,
    // outside it. Refuse them: the caller holds what it could not write.
    if (this.scopes > 0 && !this.db.inTransaction) {
      throw new StoreError('io', `${doing}: SQLite rolled the enclosing transaction back after an earlier error; nothing more is written in it`);
    }
    return guarded(doing, f);
  }

  /**
   * Runs `f` in one transaction: everything it writes lands together or not
   * at all (the calls inside nest as savepoints). The daemon wraps each
   * reducer turn in one, so a SIGKILL can never leave a saved rollout record
   * ahead of the events that explain it.
   */
  atomically<T>(f: () => T): T {
    return this.run('transaction', () => {
      this.scopes += 1;
      try {
        return this.db.transaction(f)();
      } catch (err) {
        // The queue caches its totals; a rollback here undid rows it counted.
        if (!this.db.inTransaction) this.queue.resync();
        throw err;
      } finally {
        this.scopes -= 1;
      }
    });
  }

  /** Stores the event with the caller's seq; refuses (`seq-reused`) one at or below the rollout's counter. */
  enqueue(request: EnqueueRequest): Enqueued {
    return this.run('enqueue', () => this.queue.enqueue(request));
  }

  pending(limit: number): QueuedEvent[] {
    return this.run('pending', () => this.queue.pending(limit));
  }

  ack(id: number): boolean {
    return this.run('ack', () => this.queue.ack(id));
  }

  /**
   * Removes every one of `ids` in one transaction; how many rows were there.
   * A full disk can refuse the transaction while single deletes still go
   * through (the drain's faults spec, a 16 MiB tmpfs filled to the last
   * byte): then one delete at a time, as before batching.
   */
  ackAll(ids: readonly number[]): number {
    const each = (): number => ids.reduce((n, id) => n + (this.ack(id) ? 1 : 0), 0);
    try {
      return this.atomically(each);
    } catch (e) {
      if (!(e instanceof StoreError) || (e.code !== 'disk-full' && e.code !== 'io') || this.scopes > 0) throw e;
      return each();
    }
  }

  deadLetter(id: number, reason: string): boolean {
    return this.run('dead-letter', () => this.queue.deadLetter(id, reason));
  }

  lastSeq(rolloutId: string): number {
    return this.run('last seq', () => this.queue.lastSeq(rolloutId));
  }

  /** rollout id → highest seq ever queued, for every rollout the store still counts. */
  seqCounters(): Record<string, number> {
    return this.run('seq counters', () => this.queue.seqCounters());
  }

  stats(): QueueStats {
    return this.run('stats', () => this.queue.stats());
  }

  deadLetters(limit: number): DeadLetter[] {
    return this.run('dead letters', () => this.queue.deadLetters(limit));
  }

  saveRollouts(rows: readonly RolloutRecordRow[]): void {
    this.run('save rollouts', () => this.state.saveRollouts(rows));
  }

  rollouts(): RolloutRecordRow[] {
    return this.run('rollouts', () => this.state.rollouts());
  }

  lastConfirmedClosure(): ConfirmedClosure | undefined {
    return this.run('last confirmed closure', () => this.state.lastConfirmedClosure());
  }

  confirmClosure(closure: ConfirmedClosure): void {
    this.run('confirm closure', () => this.state.confirmClosure(closure));
  }

  manifest(rolloutId: string): CachedManifest | undefined {
    return this.run('manifest', () => this.state.manifest(rolloutId));
  }

  putManifest(manifest: CachedManifest): void {
    this.run('put manifest', () => this.state.putManifest(manifest));
  }

  certificate(): CertificateMeta | undefined {
    return this.run('certificate', () => this.state.certificate());
  }

  putCertificate(meta: CertificateMeta): void {
    this.run('put certificate', () => this.state.putCertificate(meta));
  }

  /** Idempotent. Closing checkpoints the WAL into the main file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    guarded('close', () => this.db.close());
  }
}

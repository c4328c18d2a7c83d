// Handing our undelivered events back to the Rust agent (a swap back): every
// pending event of the store is written in upstream's queue layout
// (./upstream-queue.ts). Run only while no agent runs on the state directory:
// it takes the agent's lock for the whole run, so a daemon cannot start (and
// drain or add events) meanwhile.
//
// The store is left as it is: its rows stay. Whichever agent runs next sends
// each event at least once and under the same (rollout, seq), which the CP
// deduplicates on (a duplicate is answered 2xx): the Rust agent sends the
// files; this agent, started again, finds each file's event already queued
// with the same body and skips the file (src/io/store/upstream-queue-import.ts),
// so an export followed by a start of this agent loses nothing and doubles
// nothing. Removing the rows instead would lose the events on that path: their
// seqs would be taken by rows no longer there to compare with. Each file is
// written atomically (temp, fsync, rename, directory fsync), so a crash leaves
// whole files only; running it again rewrites the same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { normalizeTimestamp } from '../../codecs/timestamp';
import type { StoreLogger } from '../../ports/store';
import { PRIVATE_FILE_MODE, writeFileAtomic } from '../enroll/atomic-write';
import { AgentStore } from './agent-store';
import { acquireInstanceLock } from './instance-lock';
import { DEFAULT_LIMITS } from './limits';
import { DB_FILE_NAME } from './open';
import { fromEnvelope, isQueueFileName, queueFileName, queueFileText, UPSTREAM_QUEUE_DIR, type UpstreamQueuedEvent } from './upstream-queue';

export interface ExportedEvent {
  readonly file: string;
  readonly event: UpstreamQueuedEvent;
}

export interface ExportOutcome {
  /** The queue folder. */
  readonly dir: string;
  readonly exported: readonly ExportedEvent[];
  /** Rows that could not be turned into upstream's format (the Rust agent will not send them). */
  readonly failed: readonly { readonly rolloutId: string; readonly seq: number; readonly reason: string }[];
  /** Seqs held by more than one file: upstream's scan keys by seq alone and sends only one of them. */
  readonly seqClashes: readonly number[];
  readonly deadLettered: number;
  /** Set when the lock could not be taken (a state dir path too long for its socket). */
  readonly unlocked?: string;
}

/** Seqs of the folder's queue files that more than one file carries. */
function clashingSeqs(dir: string): number[] {
  const count = new Map<number, number>();
  for (const name of fs.readdirSync(dir).filter(isQueueFileName)) {
    const seq = Number(name.slice(0, 20));
    if (Number.isSafeInteger(seq)) count.set(seq, (count.get(seq) ?? 0) + 1);
  }
  return [...count].filter(([, n]) => n > 1).map(([seq]) => seq);
}

/**
 * Exports the store's pending events to `{stateDir}/outbound-queue/`.
 * Undefined when the state directory holds no database (nothing to export).
 * Throws InstanceLockError when an agent runs on it, StoreError when the
 * database cannot be used, and a file-system error when a file cannot be written.
 */
export async function exportUpstreamQueue(stateDir: string, logger: StoreLogger, clock: () => string): Promise<ExportOutcome | undefined> {
  if (!fs.existsSync(path.join(stateDir, DB_FILE_NAME))) return undefined;
  const lock = await acquireInstanceLock(stateDir, clock());
  try {
    const store = AgentStore.open({ stateDir, logger, clock });
    try {
      const rows = store.pending(DEFAULT_LIMITS.maxQueuedEvents);
      const dir = path.join(stateDir, UPSTREAM_QUEUE_DIR);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      const exported: ExportedEvent[] = [];
      const failed: { rolloutId: string; seq: number; reason: string }[] = [];
      for (const row of rows) {
        const at = normalizeTimestamp(row.enqueuedAt);
        const ev = E.isLeft(at) ? E.left(`enqueued_at: ${at.left}`) : fromEnvelope(row.body, row.rolloutId, row.seq, at.right);
        if (E.isLeft(ev)) {
          failed.push({ rolloutId: row.rolloutId, seq: row.seq, reason: ev.left });
          continue;
        }
        const file = path.join(dir, queueFileName(ev.right));
        await writeFileAtomic(file, queueFileText(ev.right), PRIVATE_FILE_MODE);
        exported.push({ file, event: ev.right });
      }
      return {
        dir,
        exported,
        failed,
        seqClashes: clashingSeqs(dir),
        deadLettered: store.stats().deadLettered,
        ...(lock.unlocked !== undefined ? { unlocked: lock.unlocked } : {}),
      };
    } finally {
      store.close();
    }
  } finally {
    lock.release();
  }
}

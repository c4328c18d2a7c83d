// Taking over the Rust agent's undelivered events at start (docs/store.md,
// "The Rust agent's queue"). The daemon calls this right after opening the
// store and before reading the seq counters, so the reducer's floors rise
// past every imported seq.
//
// Crash safety: every event goes into the store in ONE transaction, and only
// after it commits is the folder renamed aside (then removed, unless it holds
// files that were not imported: those stay there for the operator). A crash before the commit
// leaves nothing imported and the folder in place; a crash between the
// commit and the rename leaves the folder in place with its events already
// queued, and the next start finds each one queued under its (rollout, seq)
// with the same body and skips it (nothing is sent in between: the graph
// starts after this returns). So an event is imported once, never lost.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { errorMessage } from '../../ports/error-text';
import { isStoreError, StoreError, type StoreLogger } from '../../ports/store';
import type { AgentStore } from './agent-store';
import { DEFAULT_LIMITS } from './limits';
import { fsyncDir } from './open';
import {
  decodeQueueFile,
  envelopeOf,
  isDurableKind,
  isQueueFileName,
  UPSTREAM_QUEUE_DIR,
  UpstreamQueueFileError,
  type UpstreamQueuedEvent,
} from './upstream-queue';

/** A queue file bigger than this is not an event (ours are at most 64 KiB). */
export const MAX_QUEUE_FILE_BYTES = 1024 * 1024;

export interface ImportOutcome {
  /** Events now in our queue. */
  readonly imported: number;
  /** Events found already queued with the same body (a second start after a crash, or an export not yet cleaned up). */
  readonly alreadyQueued: number;
  /** Files not imported, each with its path (after the move) and why; each was logged at WARN. */
  readonly setAside: readonly UpstreamQueueFileError[];
  /** Where the folder was kept, holding the files not imported; undefined when every file was taken (the folder is then removed) or the move failed. */
  readonly movedTo?: string;
}

const NOTHING: ImportOutcome = { imported: 0, alreadyQueued: 0, setAside: [] };

interface Found {
  readonly name: string;
  readonly event: UpstreamQueuedEvent;
}

function readQueueDir(dir: string): { found: Found[]; bad: UpstreamQueueFileError[]; entries: number } | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreError('io', `reading the Rust agent's queue ${dir}: ${errorMessage(e)}`, { cause: e });
  }
  const found: Found[] = [];
  const bad: UpstreamQueueFileError[] = [];
  for (const entry of entries) {
    if (!isQueueFileName(entry.name)) continue; // upstream's partial writes (.json.tmp) and anything else
    if (!entry.isFile()) {
      bad.push(new UpstreamQueueFileError(entry.name, 'not a regular file'));
      continue;
    }
    const r = readOne(path.join(dir, entry.name), entry.name);
    if (E.isLeft(r)) bad.push(r.left);
    else found.push({ name: entry.name, event: r.right });
  }
  return { found, bad, entries: entries.length };
}

function readOne(file: string, name: string): E.Either<UpstreamQueueFileError, UpstreamQueuedEvent> {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_QUEUE_FILE_BYTES) return E.left(new UpstreamQueueFileError(name, `${size} bytes, more than any event (${MAX_QUEUE_FILE_BYTES})`));
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return E.left(new UpstreamQueueFileError(name, `unreadable: ${errorMessage(e)}`));
  }
  return decodeQueueFile(name, text);
}

const keyOf = (rolloutId: string, seq: number): string => `${rolloutId}\u0000${seq}`;

/** Store errors that concern one event; anything else (disk full, I/O) aborts the whole import. */
const PER_EVENT = new Set<StoreError['code']>(['seq-reused', 'too-large', 'queue-full', 'invalid-argument']);

function enqueueAll(store: AgentStore, found: readonly Found[]): { imported: number; alreadyQueued: number; refused: UpstreamQueueFileError[] } {
  return store.atomically(() => {
    const queued = new Map(store.pending(DEFAULT_LIMITS.maxQueuedEvents).map((q) => [keyOf(q.rolloutId, q.seq), q.body]));
    let imported = 0;
    let alreadyQueued = 0;
    const refused: UpstreamQueueFileError[] = [];
    for (const { name, event } of found) {
      const envelope = envelopeOf(event);
      const existing = queued.get(keyOf(event.rollout_id, event.seq));
      if (existing === JSON.stringify(envelope)) {
        alreadyQueued += 1;
        continue;
      }
      if (existing !== undefined) {
        refused.push(new UpstreamQueueFileError(name, `this agent already queued a different event as seq ${event.seq} of ${event.rollout_id}`));
        continue;
      }
      try {
        store.enqueue({ rolloutId: event.rollout_id, seq: event.seq, kind: event.event_kind, durable: isDurableKind(event.payload.kind), envelope });
        imported += 1;
      } catch (e) {
        if (!isStoreError(e) || !PER_EVENT.has(e.code)) throw e;
        const why =
          e.code === 'seq-reused'
            ? `seq ${event.seq} of ${event.rollout_id} is not above this agent's last seq ${store.lastSeq(event.rollout_id)} for it: the control plane holds, or will hold, another event under that seq`
            : `${e.code}: ${e.message}`;
        refused.push(new UpstreamQueueFileError(name, why));
      }
    }
    return { imported, alreadyQueued, refused };
  });
}

/** `outbound-queue.imported-<stamp>` beside it, not overwriting an earlier one. */
function asideName(dir: string, clock: () => string): string {
  const base = `${dir}.imported-${clock().replace(/[^0-9A-Za-z]/g, '-')}`;
  let target = base;
  for (let n = 1; fs.existsSync(target); n++) target = `${base}-${n}`;
  return target;
}

/**
 * Imports `{stateDir}/outbound-queue/` into the store (see the header), then
 * moves the folder aside. Throws StoreError only when the store itself fails
 * (nothing is imported then, and the folder stays for the next start).
 */
export function importUpstreamQueue(store: AgentStore, stateDir: string, logger: StoreLogger, clock: () => string): ImportOutcome {
  const dir = path.join(stateDir, UPSTREAM_QUEUE_DIR);
  const scan = readQueueDir(dir);
  if (scan === undefined) return NOTHING;
  if (scan.entries === 0) {
    try {
      fs.rmdirSync(dir); // the Rust agent makes it again
    } catch {
      // left in place: empty, it holds nothing to import
    }
    return NOTHING;
  }
  // Per rollout by seq, as the Rust agent would have sent them; ties (two rollouts) by name.
  const found = [...scan.found].sort((a, b) => a.event.seq - b.event.seq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { imported, alreadyQueued, refused } = enqueueAll(store, found);

  let movedTo: string | undefined = asideName(dir, clock);
  try {
    fs.renameSync(dir, movedTo);
    fsyncDir(stateDir);
  } catch (e) {
    logger.error("could not move the Rust agent's queue aside; its events are queued here, and the next start will find them so and skip them", { dir, error: errorMessage(e) });
    movedTo = undefined;
  }
  // Nothing to look at in it (every event taken, only partial writes left): gone.
  if (movedTo !== undefined && scan.bad.length === 0 && refused.length === 0) {
    try {
      fs.rmSync(movedTo, { recursive: true, force: true });
      movedTo = undefined;
    } catch (e) {
      logger.warn("could not remove the imported Rust agent's queue; remove it by hand", { dir: movedTo, error: errorMessage(e) });
    }
  }
  const where = movedTo ?? dir;
  const setAside = [...scan.bad, ...refused].map((b) => new UpstreamQueueFileError(path.join(where, b.file), b.reason));
  for (const b of setAside) logger.warn("Rust agent's queued event not imported; the file is kept", { file: b.file, reason: b.reason });
  logger.info("imported the Rust agent's outbound queue", { imported, alreadyQueued, notImported: setAside.length, from: dir, ...(movedTo !== undefined ? { movedTo } : {}) });
  return { imported, alreadyQueued, setAside, ...(movedTo !== undefined ? { movedTo } : {}) };
}

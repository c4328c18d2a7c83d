// The state database read without changing anything, for `status`: no
// migration, no mode repair, no file created. While the agent runs, its WAL
// and shared-memory files exist and a read-only connection uses them (and
// creates nothing). When it is stopped there is no WAL: the main file holds
// everything, and it is read into memory (marked as a rollback-journal file
// in that copy, since an in-memory database cannot be in WAL mode), so not
// even SQLite's -wal/-shm appear. Its queries are its own: the store's
// classes prepare against the current schema, and status must also read a
// file an older agent left unmigrated.
import { errorMessage } from '../../ports/error-text';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { CertificateMeta, ConfirmedClosure, DeadLetter, QueueStats, RolloutRecordRow } from '../../ports/store';
import { DB_FILE_NAME } from './open';
import { SCHEMA_VERSION } from './schema';

export interface StateView {
  readonly file: string;
  readonly rollouts: readonly RolloutRecordRow[];
  readonly lastConfirmedClosure?: ConfirmedClosure;
  readonly certificate?: CertificateMeta;
  readonly queue: QueueStats;
  readonly deadLetters: readonly Pick<DeadLetter, 'rolloutId' | 'seq' | 'kind' | 'deadAt' | 'reason'>[];
}

/** Why the database could not be read, and what the operator can do about it. */
export class StateReadError extends Error {
  override readonly name = 'StateReadError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`cannot read ${file}: ${reason}; ${hint}`);
  }
}

// The file-format bytes of a WAL database (offsets 18–19 of the header: 2 = WAL, 1 = rollback journal).
const FORMAT_BYTES = [18, 19] as const;

function openQuietly(file: string): Database.Database {
  if (fs.existsSync(`${file}-wal`)) return new Database(file, { readonly: true, fileMustExist: true });
  const bytes = fs.readFileSync(file);
  if (bytes.length >= 100 && bytes.subarray(0, 16).toString('latin1') === 'SQLite format 3\u0000') for (const i of FORMAT_BYTES) if (bytes[i] === 2) bytes[i] = 1;
  return new Database(bytes);
}

const explain = (file: string, e: unknown): StateReadError => {
  const code = (e as { code?: unknown }).code;
  const message = errorMessage(e);
  if (code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
    return new StateReadError(file, `permission denied (${message})`, "run status as the agent's user (root on a host)");
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new StateReadError(file, `not a readable agent database (${message})`, 'the agent moves a corrupt database aside when it starts and rebuilds its state from the control plane; restart it, or move the file aside yourself');
  return new StateReadError(file, message, 'check the file and its directory');
};

/** The agent's saved state; undefined when the state directory holds no database. */
export function readStateView(stateDir: string): StateView | undefined {
  const file = path.join(stateDir, DB_FILE_NAME);
  if (!fs.existsSync(file)) return undefined;
  let db: Database.Database;
  try {
    db = openQuietly(file);
  } catch (e) {
    throw explain(file, e);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StateReadError(file, `written by a newer agent (schema ${version}, this one reads up to ${SCHEMA_VERSION})`, 'run the status command of the agent version that wrote it');
    }
    const rollouts =
      version < 2
        ? []
        : db
            .prepare<[], { rolloutId: string; record: string; updatedAt: string; signedIntent: string | null }>(
              `SELECT rollout_id AS rolloutId, record, updated_at AS updatedAt, ${version >= 3 ? 'signed_intent' : 'NULL'} AS signedIntent FROM rollout_record ORDER BY rowid`,
            )
            .all()
            .map(({ signedIntent, ...row }) => (signedIntent === null ? row : { ...row, signedIntent }));
    const closure = db.prepare<[], ConfirmedClosure>('SELECT closure, confirmed_at AS confirmedAt FROM confirmed_closure WHERE id = 1').get();
    const cert = db.prepare<[], { serial: string; fingerprint: string; notBefore: string; notAfter: string }>(
      'SELECT serial, fingerprint, not_before AS notBefore, not_after AS notAfter FROM certificate WHERE id = 1',
    ).get();
    const totals = db.prepare<[], { n: number; b: number }>('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM outbound').get() ?? { n: 0, b: 0 };
    const dead = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letter').get()?.n ?? 0;
    const deadLetters = db
      .prepare<[], { rolloutId: string; seq: number; kind: string; deadAt: string; reason: string }>(
        'SELECT rollout_id AS rolloutId, seq, kind, dead_at AS deadAt, reason FROM dead_letter ORDER BY id DESC LIMIT 5',
      )
      .all();
    return {
      file,
      rollouts,
      ...(closure !== undefined ? { lastConfirmedClosure: closure } : {}),
      ...(cert !== undefined ? { certificate: cert } : {}),
      queue: { queued: totals.n, queuedBytes: totals.b, deadLettered: dead },
      deadLetters,
    };
  } catch (e) {
    throw e instanceof StateReadError ? e : explain(file, e);
  } finally {
    db.close();
  }
}

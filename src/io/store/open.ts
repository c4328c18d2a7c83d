// Opening the state database: checks the directory, sets the durability
// pragmas, verifies the file and migrates it. A file SQLite calls corrupt (or
// one from a newer agent) is renamed aside and a fresh one started: the CP
// re-sends rollout state on the next heartbeat, whereas an agent that cannot
// start reports nothing at all. Every other failure (read-only, disk full,
// busy, too many open files) is a typed error and the file is left alone.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoreError, isStoreError, type StoreLogger } from '../../ports/store';
import { guarded, toStoreError } from './errors';
import { BUSY_TIMEOUT_MS, MAX_MOVED_ASIDE, WAL_SIZE_LIMIT_BYTES } from './limits';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, restrictToOwner } from './permissions';
import { migrate, type Migration, MIGRATIONS } from './schema';

export const DB_FILE_NAME = 'agent.sqlite';
const SIDE_FILES = ['-wal', '-shm'] as const;
const ASIDE_MARK = '.corrupt-';

export interface OpenParams {
  readonly stateDir: string;
  readonly logger: StoreLogger;
  readonly clock: () => string;
  readonly maxDatabaseBytes: number;
  readonly migrations?: readonly Migration[];
}

/** fsync a directory so that renames and new files in it survive power loss. */
export const fsyncDir = (dir: string): void => {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
};

const prepareDir = (dir: string): void =>
  guarded(`state dir ${dir}`, () => {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // root passes this check on a 0555 dir, as it can write there anyway
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  });

const configure = (db: Database.Database, p: OpenParams): void => {
  const mode: unknown = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new StoreError('io', `journal_mode is ${String(mode)}, not wal`);
  // FULL in WAL mode: every commit fsyncs the WAL, so a committed enqueue
  // survives power loss, not just a process crash.
  db.pragma('synchronous = FULL');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(p.maxDatabaseBytes / pageSize))}`);
  const check: unknown = db.pragma('quick_check', { simple: true });
  if (check !== 'ok') throw new StoreError('corrupt', `quick_check: ${String(check)}`);
  migrate(db, p.migrations ?? MIGRATIONS);
};

// SQLite creates the database 0644 minus the umask, and gives the WAL and
// shm exactly the database's mode. Creating the file 0600 first makes all
// three private under any umask; a file an older agent left 0644 is
// tightened. Another user's file is left alone (the daemon refuses a state
// dir it does not own at start; a read-only file stays SQLite's to report).
const makePrivate = (file: string): void => {
  try {
    fs.closeSync(fs.openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (const f of [file, ...SIDE_FILES.map((s) => file + s)]) restrictToOwner(f);
};

// Throws a StoreError; code `corrupt` only once the file has been moved aside.
const openChecked = (file: string, p: OpenParams, mayMoveAside: boolean): Database.Database => {
  let db: Database.Database | undefined;
  try {
    makePrivate(file);
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    configure(db, p);
    return db;
  } catch (e) {
    const err = toStoreError(e, `open ${file}`);
    try {
      // Rename while SQLite still holds the files open: closing would
      // otherwise delete the WAL and shm of a file it cannot read.
      if (err.code === 'corrupt' && mayMoveAside) moveAside(file, err.message, p);
    } catch (moveErr) {
      const m = toStoreError(moveErr, 'moving it aside');
      throw new StoreError(m.code, `${err.message}; ${m.message}`, { cause: moveErr });
    } finally {
      db?.close();
    }
    throw err;
  }
};

const renameIfPresent = (from: string, to: string): void => {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
};

// Keeps the newest MAX_MOVED_ASIDE copies; names sort by the clock stamp.
const pruneMovedAside = (dir: string, logger: StoreLogger): void => {
  const prefix = DB_FILE_NAME + ASIDE_MARK;
  const bases = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && !SIDE_FILES.some((s) => n.endsWith(s)))
    .sort();
  for (const base of bases.slice(0, Math.max(0, bases.length - MAX_MOVED_ASIDE))) {
    for (const suffix of ['', ...SIDE_FILES]) fs.rmSync(path.join(dir, base + suffix), { force: true });
    logger.info('deleted old moved-aside state database', { file: path.join(dir, base) });
  }
};

const moveAside = (file: string, reason: string, p: OpenParams): string => {
  const stamp = p.clock().replace(/[^0-9A-Za-z]/g, '-');
  let target = `${file}${ASIDE_MARK}${stamp}`;
  for (let n = 1; fs.existsSync(target); n++) target = `${file}${ASIDE_MARK}${stamp}-${n}`;
  // the WAL goes too: replaying an old WAL into the fresh file would be worse
  // than losing it
  renameIfPresent(file, target);
  for (const suffix of SIDE_FILES) renameIfPresent(file + suffix, target + suffix);
  fsyncDir(path.dirname(file));
  p.logger.error(
    'state database is unreadable: moved it aside and started a fresh one; rollout state comes back from the control plane on the next heartbeat, unsent events in it are lost',
    { file, movedTo: target, reason },
  );
  pruneMovedAside(path.dirname(file), p.logger);
  return target;
};

/** Opens (creating, migrating or replacing) the state database under `stateDir`. */
export const openDatabase = (p: OpenParams): Database.Database => {
  prepareDir(p.stateDir);
  const file = path.join(p.stateDir, DB_FILE_NAME);
  let db: Database.Database;
  try {
    db = openChecked(file, p, true);
  } catch (e) {
    if (!isStoreError(e) || e.code !== 'corrupt') throw e;
    db = openChecked(file, p, false);
  }
  try {
    // the WAL and shm now exist: created with the database's 0600, unless left by an older agent
    guarded(`restrict ${file}`, () => {
      for (const suffix of SIDE_FILES) restrictToOwner(file + suffix);
    });
    // the file may have just been created: make its directory entry durable
    guarded(`fsync ${p.stateDir}`, () => fsyncDir(p.stateDir));
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
};

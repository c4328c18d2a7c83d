// The state directory belongs to the agent alone: the database, its WAL and
// shm, and the manifest cache are 0600 files in 0700 directories, whatever
// the umask. A local user who can open the database can read rollout state
// and, by holding a POSIX read lock on it, stall every write with
// SQLITE_BUSY. systemd's StateDirectory= (umask 022) and older agents left
// the directory 0755 and the files 0644: repaired at start, with a warning.
// A directory owned by another user is refused: its owner could swap the
// files under the agent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StoreLogger } from '../../ports/store';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
const GROUP_OTHER = 0o077;
/** Names listed in the repair warning; the rest are counted. */
const MAX_NAMED = 10;

export interface StatLike {
  readonly uid: number;
  readonly mode: number;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The file-system calls the check makes; injected by specs that cannot chown. */
export interface PermissionFs {
  /** The agent's uid; undefined where the platform has none (no owner check then). */
  uid(): number | undefined;
  mkdirp(dir: string, mode: number): void;
  stat(p: string): StatLike;
  lstat(p: string): StatLike;
  chmod(p: string, mode: number): void;
  readdir(dir: string): string[];
}

export const nodePermissionFs: PermissionFs = {
  uid: () => process.getuid?.(),
  mkdirp: (dir, mode) => void fs.mkdirSync(dir, { recursive: true, mode }),
  stat: (p) => fs.statSync(p),
  lstat: (p) => fs.lstatSync(p),
  chmod: (p, mode) => fs.chmodSync(p, mode),
  readdir: (dir) => fs.readdirSync(dir),
};

/** `0755`-style text of a mode's permission bits. */
export const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

export class StateDirOwnerError extends Error {
  override readonly name = 'StateDirOwnerError';
}

export interface StateDirReport {
  /** The directory's mode before the repair, when group or other had any access. */
  readonly oldMode?: number;
  /** Entries below it (relative paths) whose group/other bits were removed. */
  readonly tightened: readonly string[];
}

const isNotFound = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';

/**
 * Removes group/other access from `file` when the agent owns it; a missing
 * file, a symlink (chmod would follow it) or another owner's file is left
 * alone. True when the mode changed.
 */
export function restrictToOwner(file: string, fsx: PermissionFs = nodePermissionFs): boolean {
  let st: StatLike;
  try {
    st = fsx.lstat(file);
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
  const me = fsx.uid();
  if (st.isSymbolicLink() || (me !== undefined && st.uid !== me) || (st.mode & GROUP_OTHER) === 0) return false;
  fsx.chmod(file, st.mode & 0o7700);
  return true;
}

/** Every entry below `dir` (not following symlinks) that had group/other bits; relative paths. */
function tightenTree(root: string, fsx: PermissionFs): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fsx.readdir(dir).sort()) {
      const p = path.join(dir, name);
      if (restrictToOwner(p, fsx)) out.push(path.relative(root, p));
      const st = fsx.lstat(p);
      if (st.isDirectory() && !st.isSymbolicLink()) walk(p);
    }
  };
  walk(root);
  return out;
}

/**
 * Start-up check of `--state-dir`: creates it 0700 when missing; refuses it
 * (StateDirOwnerError) when another user owns it; otherwise removes any
 * group/other access from it and everything below it, logging one warning
 * per repair with the old mode.
 */
export function secureStateDir(dir: string, logger: StoreLogger, fsx: PermissionFs = nodePermissionFs): StateDirReport {
  let st: StatLike;
  try {
    st = fsx.stat(dir);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    fsx.mkdirp(dir, PRIVATE_DIR_MODE);
    st = fsx.stat(dir);
  }
  if (!st.isDirectory()) throw new Error(`state dir ${dir} is not a directory`);
  const me = fsx.uid();
  if (me !== undefined && st.uid !== me) {
    throw new StateDirOwnerError(
      `state dir ${dir} is owned by uid ${st.uid}, not by the agent's uid ${me}: refusing to start, as its owner could replace the database under the agent (chown it to uid ${me}, or choose another --state-dir)`,
    );
  }
  let oldMode: number | undefined;
  if ((st.mode & GROUP_OTHER) !== 0) {
    oldMode = st.mode & 0o7777;
    fsx.chmod(dir, PRIVATE_DIR_MODE);
    logger.warn(`state dir was accessible to other users (mode ${octal(oldMode)}); tightened it to 0700`, { stateDir: dir, oldMode: octal(oldMode) });
  }
  const tightened = tightenTree(dir, fsx);
  if (tightened.length > 0) {
    const named = tightened.slice(0, MAX_NAMED).join(', ') + (tightened.length > MAX_NAMED ? ` and ${tightened.length - MAX_NAMED} more` : '');
    logger.warn('state files were accessible to other users; removed group and other access', { stateDir: dir, count: tightened.length, files: named });
  }
  return { ...(oldMode === undefined ? {} : { oldMode }), tightened };
}

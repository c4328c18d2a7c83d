// The running closure is the basename of the current-system symlink's target
// (reference agent-runtime.md §13 step 1, upstream `read_current_closure`:
// one readlink, no resolution of further links). readCurrentClosure is the
// one reader: the HostPort, the activation pipeline and the daemon use it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { catchError, of, type Observable } from 'rxjs';
import type { HostPort } from '../ports/host';
import { fromWork } from './from-work';

export const DEFAULT_CURRENT_SYSTEM_PATH = '/run/current-system';

/** The closure `link` points at; errors when the link is unreadable or its target names none (`/`, `..`). */
export function readCurrentClosure(link: string): Observable<string> {
  return fromWork(async () => {
    const target = await fs.readlink(link);
    const base = path.basename(target);
    if (base === '' || base === '.' || base === '..') throw new Error(`${link} points at ${JSON.stringify(target)}, which names no closure`);
    return base;
  });
}

export interface HostPortConfig {
  /** Default `/run/current-system`. */
  readonly currentSystemPath?: string;
}

export function createHostPort(config: HostPortConfig = {}): HostPort {
  const link = config.currentSystemPath ?? DEFAULT_CURRENT_SYSTEM_PATH;
  return {
    currentClosure: (): Observable<string | undefined> => readCurrentClosure(link).pipe(catchError(() => of(undefined))),
  };
}

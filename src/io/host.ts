// HostPort on the real file system: the running closure is the basename of
// the current-system symlink's target (reference agent-runtime.md §13 step 1,
// upstream `read_current_closure`: one readlink, no resolution of further links).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { catchError, of, type Observable } from 'rxjs';
import type { HostPort } from '../ports/host';
import { fromWork } from './from-work';

export const DEFAULT_CURRENT_SYSTEM_PATH = '/run/current-system';

export interface HostPortConfig {
  /** Default `/run/current-system`. */
  readonly currentSystemPath?: string;
}

export function createHostPort(config: HostPortConfig = {}): HostPort {
  const link = config.currentSystemPath ?? DEFAULT_CURRENT_SYSTEM_PATH;
  return {
    currentClosure: (): Observable<string | undefined> =>
      fromWork(async () => {
        const base = path.basename(await fs.readlink(link));
        return base === '' || base === '.' || base === '..' || base === '/' ? undefined : base;
      }).pipe(catchError(() => of(undefined))),
  };
}

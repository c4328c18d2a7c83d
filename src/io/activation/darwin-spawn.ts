// Starting a nix-darwin activation script the way upstream does: in a new
// session (setsid — Node's `detached`), stdin from /dev/null, stdout and
// stderr appended to the activate log, and not waited for. launchd signals
// the agent's whole process group when the activation reloads the agent's
// plist; in its own session the script lives on. The ProcessPort cannot do
// this: it waits for the child and kills its group on unsubscribe.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Observable } from 'rxjs';
import { errorMessage } from '../../ports/error-text';
import type { Logger } from '../../ports/logger';
import { fromWork } from '../from-work';

export type SessionSpawn = { readonly kind: 'spawned'; readonly pid: number } | { readonly kind: 'spawn-failed'; readonly message: string };

export interface SessionSpawnRequest {
  readonly program: string;
  readonly env: Readonly<Record<string, string>>;
  /** Opened for append (created if missing); when that fails the child writes to the agent's own stdout and stderr. */
  readonly logPath: string;
  readonly logger: Logger;
}

export function spawnInNewSession(req: SessionSpawnRequest): Observable<SessionSpawn> {
  return fromWork(async () => {
    const log = await fs.open(req.logPath, 'a').catch((err: unknown) => {
      req.logger.warn('activation: could not open the activate log; the script writes to the agent’s own output', { path: req.logPath, error: errorMessage(err) });
      return undefined;
    });
    try {
      return await new Promise<SessionSpawn>((resolve) => {
        const out = log?.fd ?? 'inherit';
        const child = spawn(req.program, [], { detached: true, env: { ...req.env }, stdio: ['ignore', out, out] });
        child.once('error', (err) => resolve({ kind: 'spawn-failed', message: err.message }));
        child.once('spawn', () => {
          // Not waited for: the verify poll is the only success signal.
          child.unref();
          resolve({ kind: 'spawned', pid: child.pid ?? 0 });
        });
      });
    } finally {
      // The child holds its own copy of the descriptor.
      await log?.close();
    }
  });
}

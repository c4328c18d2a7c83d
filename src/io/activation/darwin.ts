// The nix-darwin backend (upstream `activation/darwin.rs`): no switch lock
// (the check is always "not held"), the closure's `activate-user` (when the
// closure has one; older nix-darwin) and then its `activate`, each started
// in a new session and not waited for, no exit code to read afterwards —
// the verify poll of /run/current-system is the only success signal.
import { concatMap, map, of, type Observable } from 'rxjs';
import type { ActivationOutcome, RollbackOutcome } from '../../ports/activation';
import type { PlatformBackend } from './backend';
import type { ActivationConfig } from './config';
import { spawnInNewSession, type SessionSpawn } from './darwin-spawn';
import { exists } from './host-fs';
import { rollbackFailed, switchFailed } from './outcomes';

const start = (cfg: ActivationConfig, program: string): Observable<SessionSpawn> => spawnInNewSession({ program, env: cfg.env, logPath: cfg.activateLog, logger: cfg.logger });

/** Legacy: modern closures have no activate-user; a failure to start it is not fatal (upstream). */
function activateUser(cfg: ActivationConfig, storePath: string): Observable<void> {
  const program = `${storePath}/activate-user`;
  return exists(program).pipe(
    concatMap((present) => (present ? start(cfg, program) : of(undefined))),
    map((r) => {
      if (r?.kind === 'spawn-failed') cfg.logger.warn('activation: darwin activate-user failed to start (not fatal); running activate', { program, error: r.message });
    }),
  );
}

function fireSwitch(cfg: ActivationConfig, closure: string, storePath: string): Observable<ActivationOutcome | undefined> {
  return activateUser(cfg, storePath).pipe(
    concatMap(() => start(cfg, `${storePath}/activate`)),
    map((r) => {
      if (r.kind === 'spawned') {
        cfg.logger.info('activation: darwin activate started in its own session; polling current-system', { closure, pid: r.pid });
        return undefined;
      }
      cfg.logger.error('activation: darwin activate failed to start', { closure, error: r.message });
      return switchFailed('darwin-activate-spawn');
    }),
  );
}

function fireRollback(cfg: ActivationConfig, storePath: string): Observable<RollbackOutcome | undefined> {
  const program = `${storePath}/activate`;
  return exists(program).pipe(
    concatMap((present) => {
      if (!present) {
        cfg.logger.error('activation: darwin rollback target has no activate script', { program });
        return of(rollbackFailed('darwin-activate-missing'));
      }
      return start(cfg, program).pipe(
        map((r) => {
          if (r.kind === 'spawned') return undefined;
          cfg.logger.error('activation: darwin rollback activate failed to start', { program, error: r.message });
          return rollbackFailed('darwin-activate-spawn');
        }),
      );
    }),
  );
}

export const darwinBackend: PlatformBackend = {
  switchInProgress: () => of(false),
  fireSwitch,
  fireRollback,
  exitCode: () => of(undefined),
};

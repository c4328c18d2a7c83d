// The NixOS backend (reference agent-runtime.md §11.2 steps 1, 5, 6 and
// §11.3): the switch lock through flock, a live switch (or a deferral to the
// next boot) in a transient systemd unit, the unit's exit status.
import { concatMap, map, type Observable } from 'rxjs';
import type { ActivationOutcome, RollbackOutcome } from '../../ports/activation';
import { succeeded, type ProcessResult } from '../../ports/process';
import type { PlatformBackend } from './backend';
import type { ActivationConfig } from './config';
import { switchInhibitor } from './inhibitors';
import { fireDetached, resetFailed, switchBoot, switchInProgress, unitExitCode } from './tools';
import { rollbackFailed, spawnError, switchFailed } from './outcomes';

function fireSwitch(cfg: ActivationConfig, closure: string, storePath: string): Observable<ActivationOutcome | undefined> {
  return switchInhibitor(cfg.currentSystem, storePath).pipe(
    concatMap((component) => {
      if (component !== undefined) {
        cfg.logger.warn('activation: live switch unsafe; deferring to next boot', { closure, component });
        return switchBoot(cfg, storePath).pipe(
          map((r): ActivationOutcome => spawnError('switch-to-configuration boot', r) ?? (succeeded(r) ? { kind: 'DeferredPendingReboot', component } : switchFailed('defer-bootloader-update', r))),
        );
      }
      return inUnit(cfg, cfg.switchUnit, storePath).pipe(map((r) => spawnError(`systemd-run --unit=${cfg.switchUnit}`, r) ?? (succeeded(r) ? undefined : switchFailed('systemd-run-fire', r))));
    }),
  );
}

const inUnit = (cfg: ActivationConfig, unit: string, storePath: string): Observable<ProcessResult> =>
  resetFailed(cfg, unit).pipe(concatMap(() => fireDetached(cfg, unit, storePath)));

export const nixosBackend: PlatformBackend = {
  switchInProgress,
  fireSwitch,
  fireRollback: (cfg, storePath) =>
    inUnit(cfg, cfg.rollbackUnit, storePath).pipe(
      map((r): RollbackOutcome | undefined => spawnError(`systemd-run --unit=${cfg.rollbackUnit}`, r) ?? (succeeded(r) ? undefined : rollbackFailed('systemd-run-fire', r))),
    ),
  exitCode: unitExitCode,
};

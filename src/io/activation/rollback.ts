// The rollback pipeline. Upstream runs `nix-env --rollback`, which moves the
// profile one generation back whatever that generation is; after a forward
// failure that happened before `nix-env --set` it lands one generation too
// far (reference §18 item 16). Here the profile is set to the recorded
// last-good closure itself, then the platform backend fires that closure's
// own switch (NixOS: switch-to-configuration in a transient unit; darwin:
// its activate script) and the verify poll waits for it (reference §11.3 otherwise).
import * as E from 'fp-ts/Either';
import { catchError, concatMap, map, NEVER, type Observable, of, takeUntil } from 'rxjs';
import { storePathOf } from '../../codecs/store-path';
import type { RollbackProof } from '../../codecs/intent';
import type { RollbackOutcome } from '../../ports/activation';
import { succeeded } from '../../ports/process';
import { platformBackend } from './backends';
import type { ActivationConfig } from './config';
import { readCurrentClosure } from '../host';
import { profileGenerations } from './host-fs';
import { selfCorrectProfile } from './profile';
import { errorMessage } from '../../ports/error-text';
import { rollbackFailed, spawnError } from './outcomes';
import { setProfile } from './tools';
import { verifyPoll } from './verify-poll';

/**
 * The closure to return to, by how it is known to have run here:
 * - own-record: the one given (the agent read it as the running system);
 * - profile-history: the one given, if it is a generation of the profile;
 * - previous-generation: the newest generation that is not the failed target.
 * A string is a refusal's phase: nothing runs.
 */
function resolveTarget(cfg: ActivationConfig, closure: string, proof: RollbackProof, failedTarget: string): Observable<{ readonly closure: string } | string> {
  if (proof === 'own-record') return of({ closure });
  return profileGenerations(cfg.profile).pipe(
    map((generations) => {
      if (proof === 'profile-history') {
        if (generations.some((g) => g.closure === closure)) return { closure };
        cfg.logger.error('activation: refusing a rollback to a closure that is no generation of the system profile', { closure, profile: cfg.profile });
        return 'not-in-profile-history';
      }
      const previous = generations.find((g) => g.closure !== failedTarget);
      if (previous !== undefined) {
        cfg.logger.warn('activation: the pre-dispatch closure is the failed target; returning to the newest other generation', { failedTarget, generation: previous.generation, closure: previous.closure });
        return { closure: previous.closure };
      }
      cfg.logger.error('activation: no profile generation other than the failed target to return to', { failedTarget, profile: cfg.profile });
      return 'no-previous-generation';
    }),
  );
}

export function rollback(cfg: ActivationConfig, closure: string, proof: RollbackProof, failedTarget: string): Observable<RollbackOutcome> {
  return resolveTarget(cfg, closure, proof, failedTarget).pipe(
    concatMap((resolved): Observable<RollbackOutcome> => {
      if (typeof resolved === 'string') return of({ kind: 'Failed', phase: resolved });
      const target = storePathOf(cfg.storeDir, resolved.closure);
      if (E.isLeft(target)) {
        cfg.logger.error('activation: refusing rollback target', { error: target.left.message });
        return of({ kind: 'Failed', phase: 'invalid-target' });
      }
      return cfg.testMode() ? of({ kind: 'FiredAndPolled', revertedTo: resolved.closure }) : run(cfg, resolved.closure, target.right.path);
    }),
    catchError((err: unknown) => of<RollbackOutcome>({ kind: 'PipelineError', message: errorMessage(err) })),
  );
}

function run(cfg: ActivationConfig, closure: string, storePath: string): Observable<RollbackOutcome> {
  cfg.logger.warn('activation: rolling back to last-good closure', { closure });
  return setProfile(cfg, storePath).pipe(
    concatMap((s) => {
      const err = spawnError('nix-env --set', s);
      if (err !== undefined) return of(err);
      if (!succeeded(s)) return of(rollbackFailed('nix-env-set', s));
      return platformBackend(cfg)
        .fireRollback(cfg, storePath)
        .pipe(concatMap((stop) => (stop !== undefined ? of(stop) : poll(cfg, closure, storePath))));
    }),
  );
}

function poll(cfg: ActivationConfig, closure: string, storePath: string): Observable<RollbackOutcome> {
  // No "previous": the abandoned generation is no meaningful pre-state, so
  // anything but the target simply keeps the poll going until the budget ends.
  return verifyPoll({
    expected: closure,
    read: () => readCurrentClosure(cfg.currentSystem),
    intervalMs: cfg.pollIntervalMs,
    budgetMs: cfg.pollBudgetMs,
    scheduler: cfg.scheduler,
  }).pipe(
    takeUntil(cfg.leaveRunningOn ?? NEVER),
    concatMap((outcome): Observable<RollbackOutcome> => {
      if (outcome.kind === 'Settled')
        return selfCorrectProfile(cfg, storePath).pipe(map((): RollbackOutcome => ({ kind: 'FiredAndPolled', revertedTo: closure })));
      cfg.logger.error('activation: rollback poll timed out', { closure, outcome });
      return platformBackend(cfg).exitCode(cfg, cfg.rollbackUnit).pipe(map((code) => rollbackFailed('rollback-poll-timeout', code)));
    }),
  );
}

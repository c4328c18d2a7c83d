// The forward pipeline (reference agent-runtime.md §11.2): lock check,
// realise, set the profile, read the pre-switch closure, fire (the platform
// backend's step: backends.ts), verify poll, self-correct the profile.
import * as E from 'fp-ts/Either';
import { catchError, concatMap, defer, map, NEVER, type Observable, of, takeUntil } from 'rxjs';
import { storePathOf } from '../../codecs/store-path';
import type { ActivationOutcome } from '../../ports/activation';
import type { VerifiedDispatch } from '../../ports/manifests';
import { rolloutChannelRef } from '../../codecs/scalars';
import { succeeded } from '../../ports/process';
import { platformBackend } from './backends';
import type { ActivationConfig } from './config';
import { readCurrentClosure } from '../host';
import { selfCorrectProfile } from './profile';
import { classifyRealise } from './realise';
import { errorMessage } from '../../ports/error-text';
import { spawnError, switchFailed } from './outcomes';
import { realise, setProfile } from './tools';
import { verifyPoll } from './verify-poll';

export const LOCK_HELD_REASON = 'switch-to-configuration lock held by another process; will retry on next tick';

export function activate(cfg: ActivationConfig, closure: string, verified: VerifiedDispatch, resumed = false): Observable<ActivationOutcome> {
  return defer((): Observable<ActivationOutcome> => {
    // Defence in depth behind the reducer's guard and the worker's re-check:
    // nothing runs for a closure the verified manifest did not name.
    if (verified.targetClosure !== closure) {
      cfg.logger.error('activation: refusing a closure the verified manifest does not name', { closure, signedTarget: verified.targetClosure, rolloutId: verified.rolloutId });
      return of({ kind: 'PipelineError', message: `refused: ${closure} is not the closure the signed manifest of ${verified.rolloutId} names (${verified.targetClosure})` });
    }
    const channelRef = rolloutChannelRef(verified.rolloutId);
    if (cfg.testMode()) return of({ kind: 'FiredAndPolled', observedClosure: closure });
    const target = storePathOf(cfg.storeDir, closure);
    // Refused before any process sees it: nothing runs for a bad target.
    if (E.isLeft(target)) return of({ kind: 'RealiseFailed', reason: `refusing target: ${target.left.message}` });
    cfg.logger.info('activation: activating target', { closure, channelRef });
    const storePath = target.right.path;
    const fresh = platformBackend(cfg).switchInProgress(cfg).pipe(
      concatMap((held) => (held ? of<ActivationOutcome>({ kind: 'RealiseFailed', reason: LOCK_HELD_REASON }) : realiseThenSet(cfg, closure, storePath))),
    );
    return resumed ? resume(cfg, closure, storePath, fresh) : fresh;
  }).pipe(catchError((err: unknown) => of<ActivationOutcome>({ kind: 'PipelineError', message: errorMessage(err) })));
}

/**
 * After a restart mid-activation (audit B6; the switch may have restarted the
 * agent itself): the switch fired before is not fired again while it can
 * still be the answer. Already running the target → reported as done; the
 * switch lock held → waited for like a fresh switch; otherwise the pipeline
 * runs again (it is idempotent).
 */
function resume(cfg: ActivationConfig, closure: string, storePath: string, fresh: Observable<ActivationOutcome>): Observable<ActivationOutcome> {
  return readCurrentClosure(cfg.currentSystem).pipe(
    catchError(() => of('')),
    concatMap((running) => {
      if (running === closure) {
        cfg.logger.info('activation: resumed switch had already finished', { closure });
        return selfCorrectProfile(cfg, storePath).pipe(map((): ActivationOutcome => ({ kind: 'FiredAndPolled', observedClosure: closure })));
      }
      return platformBackend(cfg).switchInProgress(cfg).pipe(
        concatMap((held) => {
          if (!held) return fresh;
          cfg.logger.info('activation: a switch is still running after the restart; waiting for it', { closure });
          return poll(cfg, closure, storePath, running);
        }),
      );
    }),
  );
}

function realiseThenSet(cfg: ActivationConfig, closure: string, storePath: string): Observable<ActivationOutcome> {
  return realise(cfg, storePath).pipe(
    concatMap((r) => {
      const stop = classifyRealise(r, closure, storePath);
      if (stop !== undefined) return of(stop);
      // The profile is set before the switch: switch-to-configuration reads it
      // to number the generation it writes into the bootloader.
      return setProfile(cfg, storePath).pipe(
        concatMap((s) => {
          const err = spawnError('nix-env --set', s);
          if (err !== undefined) return of(err);
          if (!succeeded(s)) return of(switchFailed('nix-env-set', s));
          return readCurrentClosure(cfg.currentSystem).pipe(
            concatMap((previous) => fire(cfg, closure, storePath, previous)),
            catchError((e: unknown) =>
              of<ActivationOutcome>({ kind: 'RealiseFailed', reason: `pre-switch ${cfg.currentSystem} read failed: ${errorMessage(e)}` }),
            ),
          );
        }),
      );
    }),
  );
}

function fire(cfg: ActivationConfig, closure: string, storePath: string, previous: string): Observable<ActivationOutcome> {
  return platformBackend(cfg)
    .fireSwitch(cfg, closure, storePath)
    .pipe(concatMap((stop) => (stop !== undefined ? of(stop) : poll(cfg, closure, storePath, previous))));
}

function poll(cfg: ActivationConfig, closure: string, storePath: string, previous: string): Observable<ActivationOutcome> {
  return verifyPoll({
    expected: closure,
    previous,
    read: () => readCurrentClosure(cfg.currentSystem),
    intervalMs: cfg.pollIntervalMs,
    budgetMs: cfg.pollBudgetMs,
    scheduler: cfg.scheduler,
  }).pipe(
    takeUntil(cfg.leaveRunningOn ?? NEVER),
    concatMap((outcome): Observable<ActivationOutcome> => {
      switch (outcome.kind) {
        case 'Settled':
          return selfCorrectProfile(cfg, storePath).pipe(map((): ActivationOutcome => ({ kind: 'FiredAndPolled', observedClosure: closure })));
        case 'Timeout':
          cfg.logger.error('activation: switch poll timed out', { closure, lastObserved: outcome.lastObserved });
          return platformBackend(cfg).exitCode(cfg, cfg.switchUnit).pipe(map((code) => switchFailed('switch-poll-timeout', code)));
        case 'FlippedToUnexpected':
          return of({ kind: 'VerifyMismatch', expected: closure, actual: outcome.observed });
      }
    }),
  );
}

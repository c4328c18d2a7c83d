// Profile self-correction (reference §11.2 step 7): an activation script may
// re-point the system profile after our `nix-env --set`; if it no longer
// names the closure now running, the next boot would pick the wrong one.
// Failures are logged only: /run/current-system is already right.
import { catchError, concatMap, map, of, type Observable } from 'rxjs';
import { errorMessage } from '../../ports/error-text';
import { succeeded } from '../../ports/process';
import type { ActivationConfig } from './config';
import { resolveProfile } from './host-fs';
import { setProfile, terminationText } from './tools';

const matches = (cfg: ActivationConfig, storePath: string): Observable<boolean> =>
  resolveProfile(cfg.profile).pipe(
    map((target) => target === storePath),
    catchError(() => of(false)),
  );

export function selfCorrectProfile(cfg: ActivationConfig, storePath: string): Observable<void> {
  return matches(cfg, storePath).pipe(
    concatMap((ok) => {
      if (ok) return of(undefined);
      cfg.logger.warn('activation: profile does not name the running closure; re-running nix-env --set', { profile: cfg.profile, expected: storePath });
      return setProfile(cfg, storePath).pipe(
        concatMap((r) => {
          if (!succeeded(r)) {
            cfg.logger.warn('activation: profile self-correction failed', { result: terminationText(r) });
            return of(undefined);
          }
          return matches(cfg, storePath).pipe(
            map((again) => {
              if (!again) cfg.logger.warn('activation: profile still mismatched after self-correction', { profile: cfg.profile });
            }),
          );
        }),
      );
    }),
    catchError((err: unknown) => {
      cfg.logger.warn('activation: profile self-correction error', { error: errorMessage(err) });
      return of(undefined);
    }),
  );
}

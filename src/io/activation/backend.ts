// What differs between platforms, as upstream's ActivationBackend: the
// switch-lock check, firing the switch and the rollback, and the exit code of
// a switch whose poll ran out. Everything else (realise, `nix-env --set`,
// the verify poll, profile self-correction) is one pipeline (forward.ts,
// rollback.ts) for both.
import type { Observable } from 'rxjs';
import type { ActivationOutcome, RollbackOutcome } from '../../ports/activation';
import type { ActivationConfig } from './config';

export interface PlatformBackend {
  /** Another switch is running: the forward pipeline waits for the next tick. */
  switchInProgress(cfg: ActivationConfig): Observable<boolean>;
  /** Starts the switch to `storePath`, detached; undefined = fired, poll for it; an outcome = stop here. */
  fireSwitch(cfg: ActivationConfig, closure: string, storePath: string): Observable<ActivationOutcome | undefined>;
  /** As fireSwitch, for the closure a rollback returns to (the profile is already set). */
  fireRollback(cfg: ActivationConfig, storePath: string): Observable<RollbackOutcome | undefined>;
  /** How the fired switch (`unit`: switch or rollback) ended, when the platform can tell. */
  exitCode(cfg: ActivationConfig, unit: string): Observable<number | undefined>;
}

// The ActivationPort (reference agent-runtime.md §11): one pipeline, a
// platform backend for NixOS or nix-darwin hosts (backends.ts).
import type { ActivationPort } from '../../ports/activation';
import type { Logger } from '../../ports/logger';
import type { Observable } from 'rxjs';
import { ACTIVATION_BACKENDS, activationConfig, platformDefaultBackend, type ActivationBackendName, type ActivationConfig, type ActivationConfigInput } from './config';
import { activate } from './forward';
import { rollback } from './rollback';

const withLeave = (cfg: ActivationConfig, leaveRunningOn: Observable<unknown> | undefined): ActivationConfig =>
  leaveRunningOn === undefined ? cfg : { ...cfg, leaveRunningOn };

export function createActivation(input: ActivationConfigInput = {}): ActivationPort {
  const cfg = activationConfig(input);
  return {
    activate: (closure, verified, options) => activate(withLeave(cfg, options?.leaveRunningOn), closure, verified, options?.resumed === true),
    rollback: (closure, proof, failedTarget, options) => rollback(withLeave(cfg, options?.leaveRunningOn), closure, proof, failedTarget),
  };
}

export const createNixosActivation = (input: ActivationConfigInput = {}): ActivationPort => createActivation({ backend: 'nixos', ...input });

/** Names another backend than the platform's: test beds run the darwin one on Linux. */
export const ACTIVATION_BACKEND_ENV = 'NIXFLEET_AGENT_ACTIVATION_BACKEND';

/** The daemon's backend: the platform's, or the one the environment names (an unknown name is warned about and ignored). */
export function daemonBackend(env: NodeJS.ProcessEnv, logger: Logger, platform: NodeJS.Platform = process.platform): ActivationBackendName {
  const named = env[ACTIVATION_BACKEND_ENV];
  const fallback = platformDefaultBackend(platform);
  if (named === undefined || named === '') return fallback;
  const known = ACTIVATION_BACKENDS.find((b) => b === named);
  if (known === undefined) logger.warn(`${ACTIVATION_BACKEND_ENV} names no activation backend; using the platform's`, { value: named, known: ACTIVATION_BACKENDS, using: fallback });
  return known ?? fallback;
}

export {
  ACTIVATION_TEST_MODE_ENV,
  DEFAULT_ACTIVATE_LOG,
  platformDefaultBackend,
  type ActivationBackendName,
  activationConfig,
  DEFAULT_TOOLS,
  type ActivationConfig,
  type ActivationConfigInput,
  type ActivationTools,
} from './config';
export { LOCK_HELD_REASON } from './forward';
export { SWITCH_INHIBITORS } from './inhibitors';
export { looksLikeSignatureError, SIGNATURE_ERROR_NEEDLES } from './realise';
export { verifyPoll, type PollOutcome, type VerifyPollOptions } from './verify-poll';

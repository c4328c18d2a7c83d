// The NixOS ActivationPort (reference agent-runtime.md §11, Linux backend).
import type { ActivationPort } from '../../ports/activation';
import { activationConfig, type ActivationConfigInput } from './config';
import { activate } from './forward';
import { rollback } from './rollback';

export function createNixosActivation(input: ActivationConfigInput = {}): ActivationPort {
  const cfg = activationConfig(input);
  return {
    activate: (closure, verified, options) => activate(cfg, closure, verified, options?.resumed === true),
    rollback: (closure, proof, failedTarget) => rollback(cfg, closure, proof, failedTarget),
  };
}

export {
  ACTIVATION_TEST_MODE_ENV,
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

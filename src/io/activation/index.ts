// The NixOS ActivationPort (reference agent-runtime.md §11, Linux backend).
import type { ActivationPort } from '../../ports/activation';
import type { Observable } from 'rxjs';
import { activationConfig, type ActivationConfig, type ActivationConfigInput } from './config';
import { activate } from './forward';
import { rollback } from './rollback';

const withLeave = (cfg: ActivationConfig, leaveRunningOn: Observable<unknown> | undefined): ActivationConfig =>
  leaveRunningOn === undefined ? cfg : { ...cfg, leaveRunningOn };

export function createNixosActivation(input: ActivationConfigInput = {}): ActivationPort {
  const cfg = activationConfig(input);
  return {
    activate: (closure, verified, options) => activate(withLeave(cfg, options?.leaveRunningOn), closure, verified, options?.resumed === true),
    rollback: (closure, proof, failedTarget, options) => rollback(withLeave(cfg, options?.leaveRunningOn), closure, proof, failedTarget),
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

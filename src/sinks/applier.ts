// The applier (reference agent-runtime.md §7): one handler per effect kind,
// applied in order within a reducer turn. Nothing here holds or changes
// rollout state; feedback goes back through the reducer's input.
import type { AgentEffect } from '../reducer/agent';
import { errorMessage } from '../ports/error-text';
import type { Logger } from '../ports/logger';
import type { ConfirmedClosurePort } from '../ports/store';
import { applyActivationEffect, type IntentSinkDeps } from './activation-intents';
import { applyEmitEffect, type OutboundSinkDeps } from './outbound';

export type ProbeCommandSink = (command: { readonly kind: 'reset' | 'stop'; readonly rolloutId: string }) => void;

export interface ApplierDeps {
  readonly intents: IntentSinkDeps;
  readonly outbound: OutboundSinkDeps;
  readonly probes: ProbeCommandSink;
  /** Where ConfirmClosure is recorded; without one (embedded agents) it is only logged. */
  readonly confirmed?: ConfirmedClosurePort;
  readonly logger: Logger;
}

export function createApplier(deps: ApplierDeps): (effect: AgentEffect) => void {
  const { logger } = deps;
  return (effect) => {
    switch (effect.kind) {
      case 'LocalFireSwitch':
      case 'LocalFireRollbackTo':
        return applyActivationEffect(deps.intents, effect);
      case 'LocalResetProbeCache':
        return deps.probes({ kind: 'reset', rolloutId: effect.rolloutId });
      case 'StopProbes':
        return deps.probes({ kind: 'stop', rolloutId: effect.rolloutId });
      case 'LocalEmitEvent':
        return applyEmitEffect(deps.outbound, effect);
      case 'ConfirmClosure':
        return confirm(deps, effect);
      case 'RecordTransition':
        // A constant message, the ids in fields: log queries match it whatever the rollout.
        return logger.info('rollout state changed', { rolloutId: effect.rolloutId, from: effect.from, to: effect.to, at: effect.at });
      case 'Log':
        return logger[effect.level](effect.message, effect.fields);
      case 'EmitMetric':
        return logger.debug('metric', { name: effect.name, labels: effect.labels, value: effect.value });
      case 'EmitLog':
        return logger[effect.level === 'Trace' ? 'debug' : (effect.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')](effect.message, {
          target: effect.target,
          fields: effect.fields,
        });
      case 'RemoteQueueDispatch':
      case 'RemoteInsertQuarantine':
      case 'RemoteOpenRolloutRecord':
      case 'RemoteAppendEventLog':
        return logger.error('Remote* effect reached the agent applier; dropped', { kind: effect.kind });
    }
  };
}

function confirm(deps: ApplierDeps, effect: Extract<AgentEffect, { kind: 'ConfirmClosure' }>): void {
  const fields = { rolloutId: effect.rolloutId, closure: effect.closure };
  try {
    deps.confirmed?.confirmNow({ closure: effect.closure, confirmedAt: effect.confirmedAt });
  } catch (err) {
    // Only `status` and a later rollback's fallback read it; the rollout itself is done.
    deps.logger.error('could not record the confirmed closure', { ...fields, error: errorMessage(err) });
    return;
  }
  deps.logger.info('closure confirmed on this host', fields);
}

// The signed-intent guard. step() is upstream's and fires whatever its record
// names, and a record's closures may have come from a CP snapshot; so every
// fire effect step() returns passes here before it can reach the activation
// worker (docs/compatibility.md, "Signed intent"):
// - a switch only for the closure the record's SignedIntent names (what a
//   verified manifest named for this rollout and machine id);
// - a rollback marked with how its target is known to have run here: read by
//   the agent itself at dispatch ('own-record'), or only named by the CP, in
//   which case the worker re-verifies the rollout and the adapter requires
//   the closure in the system profile's history ('profile-history'); a
//   rollback "to" the failed target itself goes to the newest other profile
//   generation instead ('previous-generation').
// The activation worker re-verifies a switch's manifest when it fires and the
// adapter refuses an intent that does not match (defence in depth).
import type { EffectOf } from '../codecs/effects';
import type { HostRolloutState } from '../codecs/host-state';
import type { SignedIntent } from '../codecs/intent';
import { log, own, type AgentEffect, type AgentState, type AgentTransition, type FireRollback, type FireSwitch } from './agent-state';

export type SwitchGuard = { readonly ok: FireSwitch } | { readonly refused: string };

export function guardSwitch(intent: SignedIntent | undefined, effect: EffectOf<'LocalFireSwitch'>): SwitchGuard {
  if (intent === undefined) return { refused: `refused: no signed dispatch was accepted for rollout ${effect.rolloutId} on this host` };
  if (intent.targetClosure !== effect.target) {
    return { refused: `refused: ${effect.target} is not the closure the signed manifest names for this host (${intent.targetClosure})` };
  }
  return { ok: { ...effect, intent } };
}

export function guardRollback(host: HostRolloutState, intent: SignedIntent | undefined, effect: EffectOf<'LocalFireRollbackTo'>): FireRollback {
  const failedTarget = intent?.targetClosure ?? host.targetClosure;
  // Never "roll back" to the closure that failed.
  if (effect.closure === failedTarget) return { ...effect, failedTarget, proof: 'previous-generation' };
  const proof = intent?.previousClosure !== undefined && intent.previousClosure === effect.closure ? 'own-record' : 'profile-history';
  return { ...effect, failedTarget, proof };
}

/**
 * An agent killed between firing a switch (or a rollback) and recording its
 * outcome comes back with the record still Activating (or Failed with the
 * rollback owed). Upstream fires nothing then and the host waits forever
 * unless the CP sees the target in a heartbeat. The pipelines are idempotent
 * (realise, set the profile, switch, poll), so they are fired again — but
 * only for records the agent dispatched itself, for the closure it verified
 * (the worker verifies the manifest again before firing). A record that only
 * a CP snapshot describes is left alone.
 */
export function resume(state: AgentState): AgentTransition {
  const effects: AgentEffect[] = [];
  for (const h of Object.values(state.hosts)) {
    const owed = h.state === 'Activating' || (h.state === 'Failed' && h.policyApplied === 'rollback-and-halt' && h.currentClosureAtDispatch !== undefined);
    if (!owed) continue;
    const intent = own(state.intents, h.rolloutId);
    if (intent === undefined) {
      effects.push(log('warn', 'not resuming: this agent accepted no signed dispatch for the rollout (the record comes from the control plane)', { rolloutId: h.rolloutId, state: h.state }));
    } else if (h.state === 'Activating') {
      const g = guardSwitch(intent, { kind: 'LocalFireSwitch', rolloutId: h.rolloutId, target: h.targetClosure });
      if ('ok' in g) effects.push(log('info', 'resuming an interrupted activation', { rolloutId: h.rolloutId, target: h.targetClosure }), { ...g.ok, resumed: true, ...(h.activationStartedAt !== undefined ? { started: true as const } : {}) });
      else effects.push(log('error', 'not resuming an interrupted activation', { rolloutId: h.rolloutId, reason: g.refused }));
    } else if (h.currentClosureAtDispatch !== undefined) {
      const rollback = guardRollback(h, intent, { kind: 'LocalFireRollbackTo', rolloutId: h.rolloutId, closure: h.currentClosureAtDispatch });
      effects.push(log('warn', 'resuming an interrupted rollback', { rolloutId: h.rolloutId, to: rollback.closure, proof: rollback.proof }), rollback);
    }
  }
  return { state, effects };
}

// Soaking: probe bookkeeping, sustained failure and convergence (reference §7.5).
import * as E from 'fp-ts/Either';
import type { EventOf } from '../../codecs/events';
import type { HostRolloutState, ProbeMap, ProbeRecord } from '../../codecs/host-state';
import { compareTimestamps } from '../../codecs/timestamp';
import {
  illegalForState,
  invariant,
  INVARIANT_BEFORE_SOAK_DUE,
  INVARIANT_ENFORCE_NOT_PASS,
  INVARIANT_WRONG_CLOSURE,
  type Invariant,
} from '../errors';
import { allEnforcePassing } from '../probes';
import { appendLog, emit, recordTransition, rollbackIfPolicy, type StateHandler } from '../types';

type ProbeResult = EventOf<'LocalProbeResult'> | EventOf<'RemoteProbeResult'>;
type Converged = EventOf<'LocalConvergedReached'> | EventOf<'RemoteConverged'>;

function updateProbe(probes: ProbeMap, e: ProbeResult): ProbeMap {
  const prev = Object.prototype.hasOwnProperty.call(probes, e.probeName) ? probes[e.probeName] : undefined;
  const base = { status: e.status, mode: e.mode, lastObservedAt: e.observedAt };
  let record: ProbeRecord;
  if (e.status === 'pass') {
    record = { ...base, lastPassAt: e.observedAt };
  } else {
    const lastPassAt = prev?.lastPassAt;
    record = {
      ...base,
      ...(lastPassAt !== undefined ? { lastPassAt } : {}),
      ...(e.failureReason !== undefined ? { failureReason: e.failureReason } : {}),
    };
  }
  // A computed key defines an own property, so a probe named "__proto__" stays data.
  return { ...probes, [e.probeName]: record };
}

/** The converged invariants, in upstream's order; the first failure wins. */
function convergedViolation(s: HostRolloutState, e: Converged): Invariant | undefined {
  if (e.currentClosure !== s.targetClosure) return invariant(INVARIANT_WRONG_CLOSURE);
  if (s.soakDueAt !== undefined && compareTimestamps(e.convergedAt, s.soakDueAt) < 0) return invariant(INVARIANT_BEFORE_SOAK_DUE);
  if (!allEnforcePassing(s.probes)) return invariant(INVARIANT_ENFORCE_NOT_PASS);
  return undefined;
}

export const fromSoaking: StateHandler = (s, e) => {
  const isLocal = e.kind.startsWith('Local');
  switch (e.kind) {
    case 'LocalProbeTopologyDeclared':
    case 'RemoteProbeTopologyDeclared':
      return E.right({ state: s, effects: [isLocal ? emit(s, e, true) : appendLog(s, e)] });
    case 'LocalProbeObservedFirst':
    case 'RemoteProbeObservedFirst':
      return E.right({
        state: s.probeObservedFirstAt === undefined ? { ...s, probeObservedFirstAt: e.observedAt } : s,
        effects: [isLocal ? emit(s, e, false) : appendLog(s, e)],
      });
    case 'LocalProbeResult':
    case 'RemoteProbeResult':
      return E.right({ state: { ...s, probes: updateProbe(s.probes, e) }, effects: [isLocal ? emit(s, e, false) : appendLog(s, e)] });
    case 'LocalProbeFailureFirst':
    case 'RemoteProbeFailureFirst':
      // First write wins and nothing clears it: the sustained-failure anchor (§9.3).
      return E.right({
        state: s.probeFailureFirstAt === undefined ? { ...s, probeFailureFirstAt: e.firstFailedAt } : s,
        effects: [isLocal ? emit(s, e, false) : appendLog(s, e)],
      });
    case 'LocalSustainedFailureCrossed':
    case 'RemoteFailed': {
      // policyApplied comes from the event, not the policy argument; nothing is re-checked.
      const next: HostRolloutState = { ...s, state: 'Failed', failedAt: e.failedAt, policyApplied: e.policyApplied };
      const rt = recordTransition(s, 'Failed', e.failedAt);
      return E.right({
        state: next,
        effects: isLocal ? [emit(s, e, true), rt, ...rollbackIfPolicy(s, e.policyApplied)] : [appendLog(s, e), rt],
      });
    }
    case 'LocalConvergedReached':
    case 'RemoteConverged': {
      const violation = convergedViolation(s, e);
      if (violation !== undefined) return E.left(violation);
      const next: HostRolloutState = { ...s, state: 'Converged', convergedAt: e.convergedAt, currentClosure: e.currentClosure };
      const rt = recordTransition(s, 'Converged', e.convergedAt);
      return E.right({ state: next, effects: [isLocal ? emit(s, e, true) : appendLog(s, e), rt] });
    }
    default:
      return E.left(illegalForState(s, e.kind));
  }
};

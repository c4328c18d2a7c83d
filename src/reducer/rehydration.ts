// Rebuilding the agent's view from the CP after a restart (reference §11).
import type { EffectOf } from '../codecs/effects';
import type { HostRolloutSnapshot, HostRolloutState } from '../codecs/host-state';

/** Pending needs nothing; every other state re-primes the probe worker. */
export function rehydrationEffects(state: HostRolloutState): EffectOf<'LocalResetProbeCache'>[] {
  return state.state === 'Pending' ? [] : [{ kind: 'LocalResetProbeCache', rolloutId: state.rolloutId }];
}

// Fields only the agent knows. Kept on a warm merge: in particular
// probeFailureFirstAt, or periodic snapshots would restart the 120 s
// sustained-failure timer and it would never fire.
const AGENT_LOCAL_FIELDS = [
  'probeObservedFirstAt',
  'probeFailureFirstAt',
  'activationFailedAt',
  'failedAt',
  'convergedAt',
  'revertedTo',
  'revertedAt',
  'policyApplied',
] as const;

// Closures of a record the agent dispatched itself: what it verified against
// the signed manifest and read from the host; a snapshot never changes them.
const SIGNED_FIELDS = ['targetClosure', 'currentClosureAtDispatch'] as const;

/**
 * Snapshot → state. The snapshot wins for identity, state, closures, the CP's
 * timestamps and `lastEventSeq`; a warm merge (`existing` given) keeps the
 * agent-local fields and the probe map, a cold one starts them empty. With
 * `signed`, the existing record's closures are kept too.
 */
export function mergeSnapshot(snapshot: HostRolloutSnapshot, existing?: HostRolloutState, signed = false): HostRolloutState {
  const merged: Record<string, unknown> = { ...snapshot, probes: existing?.probes ?? {} };
  if (existing !== undefined) {
    for (const key of signed ? [...AGENT_LOCAL_FIELDS, ...SIGNED_FIELDS] : AGENT_LOCAL_FIELDS) {
      if (existing[key] !== undefined) merged[key] = existing[key];
      else if (signed && key === 'currentClosureAtDispatch') delete merged[key];
    }
  }
  return merged as unknown as HostRolloutState;
}

// The agent's advance tick (reference/state-machine.md §9.3): pure checks of
// (record, now) that synthesise the two events no worker observes directly.
// Events carry seq 0; the agent reducer assigns the real seq before step().
import type { EventOf } from '../codecs/events';
import type { HostRolloutState } from '../codecs/host-state';
import type { OnHealthFailure } from '../codecs/scalars';
import { compareTimestamps, elapsedWholeSeconds, type Timestamp } from '../codecs/timestamp';
import { allEnforcePassing, failingEnforceProbes } from './probes';

/**
 * Upstream hard-codes 120 s in the agent (the RFC says 60 s and "from agent
 * config"; UNCERTAIN in the reference). We keep 120 s as the default and make
 * it a parameter, so the default behaviour matches the code that runs today.
 */
export const SUSTAINED_FAILURE_THRESHOLD_SECS = 120;

/**
 * Fail gate: Soaking, a failure anchor, at least `thresholdSecs` whole seconds
 * since it (truncated; negative never fires), and a failing enforce probe now.
 */
export function checkSustainedFailure(
  s: HostRolloutState,
  now: Timestamp,
  policyApplied: OnHealthFailure,
  thresholdSecs: number = SUSTAINED_FAILURE_THRESHOLD_SECS,
): EventOf<'LocalSustainedFailureCrossed'> | undefined {
  if (s.state !== 'Soaking' || s.probeFailureFirstAt === undefined) return undefined;
  const elapsed = elapsedWholeSeconds(s.probeFailureFirstAt, now);
  if (elapsed < 0 || elapsed < thresholdSecs) return undefined;
  const failing = failingEnforceProbes(s.probes);
  if (failing.length === 0) return undefined;
  return {
    kind: 'LocalSustainedFailureCrossed',
    failedAt: now,
    sustainedDurationSecs: elapsed,
    failingProbes: failing,
    policyApplied,
    seq: 0,
  };
}

/** Pass gate: Soaking, soak deadline reached, running the target, every enforce probe passing. */
export function checkConvergence(s: HostRolloutState, now: Timestamp): EventOf<'LocalConvergedReached'> | undefined {
  if (s.state !== 'Soaking' || s.soakDueAt === undefined || compareTimestamps(now, s.soakDueAt) < 0) return undefined;
  if (s.currentClosure === undefined || s.currentClosure !== s.targetClosure) return undefined;
  if (!allEnforcePassing(s.probes)) return undefined;
  return { kind: 'LocalConvergedReached', convergedAt: now, currentClosure: s.currentClosure, seq: 0 };
}

export interface TickEvent {
  readonly rolloutId: string;
  readonly event: EventOf<'LocalSustainedFailureCrossed'> | EventOf<'LocalConvergedReached'>;
}

/**
 * One tick over all records: both gates read the same snapshot, and every
 * fail-gate event comes before every pass-gate event (upstream's order).
 * `onHealthFailure` resolves a record's policy; upstream falls back to halt.
 */
export function advanceTick(
  records: Iterable<HostRolloutState>,
  now: Timestamp,
  onHealthFailure: (s: HostRolloutState) => OnHealthFailure | undefined,
  thresholdSecs: number = SUSTAINED_FAILURE_THRESHOLD_SECS,
): TickEvent[] {
  const list = [...records];
  const failures: TickEvent[] = [];
  const convergences: TickEvent[] = [];
  for (const s of list) {
    const f = checkSustainedFailure(s, now, onHealthFailure(s) ?? 'halt', thresholdSecs);
    if (f !== undefined) failures.push({ rolloutId: s.rolloutId, event: f });
  }
  for (const s of list) {
    const c = checkConvergence(s, now);
    if (c !== undefined) convergences.push({ rolloutId: s.rolloutId, event: c });
  }
  return [...failures, ...convergences];
}

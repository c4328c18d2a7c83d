// Probe-map predicates shared by the converged invariant and the tick gates.
// Only enforce-mode probes gate anything; observe and disabled are recorded only.
import type { ProbeMap } from '../codecs/host-state';
import { compareCodePoints } from '../codecs/struct';

/** Failing enforce-mode probes, sorted (upstream's order is hash-map order, i.e. unspecified). */
export function failingEnforceProbes(probes: ProbeMap): string[] {
  return Object.entries(probes)
    .filter(([, p]) => p.mode === 'enforce' && p.status === 'fail')
    .map(([name]) => name)
    .sort(compareCodePoints);
}

/** Every enforce-mode probe passes (vacuously true without any). */
export function allEnforcePassing(probes: ProbeMap): boolean {
  return Object.values(probes).every((p) => p.mode !== 'enforce' || p.status === 'pass');
}

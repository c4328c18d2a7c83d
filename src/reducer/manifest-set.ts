// The verified manifests the agent reducer reads: only what policy lookup
// needs (reference agent-runtime.md §5.4), so any verified fleet.resolved fits.
import type { RolloutPolicy } from '../codecs/policy';

export interface PolicySource {
  readonly channels: Readonly<Record<string, { readonly rolloutPolicy: string }>>;
  readonly rolloutPolicies: Readonly<Record<string, RolloutPolicy>>;
}

/** upstream `SignedManifestSet`: the verified fleet and each channel's verified rollout id. */
export interface ManifestSet {
  readonly fleet: PolicySource;
  /** channel → rollout id of its verified manifest. */
  readonly rollouts: Readonly<Record<string, string>>;
}

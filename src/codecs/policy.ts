// `RolloutPolicy` as carried in fleet.resolved (`rolloutPolicies`). Only
// `onHealthFailure` influences step(); the rest is decoded so that a policy
// read from a signed artifact keeps its meaning, and ignored by the reducer.
import * as t from 'io-ts';
import { OnHealthFailure, Text, U32 } from './scalars';
import { opt, req, struct, withDefault } from './struct';

export const Selector = struct('Selector', {
  tags: withDefault(t.array(Text), []),
  tagsAny: withDefault(t.array(Text), []),
  hosts: withDefault(t.array(Text), []),
  // serde writes this Option as an explicit null in fleet.resolved.
  channel: withDefault(t.union([Text, t.null]), null),
  all: withDefault(t.boolean, false),
});
export type Selector = t.TypeOf<typeof Selector>;

export const PolicyWave = struct('PolicyWave', {
  selector: req(Selector),
  soakMinutes: req(U32),
});
export type PolicyWave = t.TypeOf<typeof PolicyWave>;

export const HealthGate = struct('HealthGate', {
  systemdFailedUnits: opt(struct('SystemdFailedUnits', { max: req(U32) })),
});
export type HealthGate = t.TypeOf<typeof HealthGate>;

export const RolloutPolicy = struct('RolloutPolicy', {
  strategy: req(Text),
  waves: req(t.array(PolicyWave)),
  healthGate: withDefault(HealthGate, {}),
  onHealthFailure: req(OnHealthFailure),
});
export type RolloutPolicy = t.TypeOf<typeof RolloutPolicy>;

/** What policy lookup needs of a verified fleet.resolved (reference agent-runtime.md §5.4). */
export interface PolicySource {
  readonly channels: Readonly<Record<string, { readonly rolloutPolicy: string }>>;
  readonly rolloutPolicies: Readonly<Record<string, RolloutPolicy>>;
}

/**
 * upstream `SignedManifestSet`: the verified fleet and each channel's verified
 * rollout id. Produced by the manifest port, read by the reducer; both import
 * it from here.
 */
export interface ManifestSet {
  readonly fleet: PolicySource;
  /** channel → rollout id of its verified manifest. */
  readonly rollouts: Readonly<Record<string, string>>;
}

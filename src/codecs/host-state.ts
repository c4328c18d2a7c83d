// `HostRolloutState`, the reducer's per-(rollout, host) record, and the CP's
// rehydration snapshot of it (reference/state-machine.md §2.5, §12.5).
import * as t from 'io-ts';
import { HostState, OnHealthFailure, ProbeMode, ProbeStatus, RolloutId, Seq, Text } from './scalars';
import { opt, req, sortedRecord, struct, withDefault } from './struct';
import { TimestampCodec } from './timestamp';

export const ProbeRecord = struct('ProbeRecord', {
  status: req(ProbeStatus),
  // Records written before probe modes existed read as enforce.
  mode: withDefault(ProbeMode, 'enforce'),
  lastObservedAt: req(TimestampCodec),
  lastPassAt: opt(TimestampCodec),
  failureReason: opt(Text),
});
export type ProbeRecord = t.TypeOf<typeof ProbeRecord>;

export const ProbeMap = sortedRecord('ProbeMap', ProbeRecord);
export type ProbeMap = t.TypeOf<typeof ProbeMap>;

export const HostRolloutState = struct('HostRolloutState', {
  rolloutId: req(RolloutId),
  hostname: req(Text),
  channel: req(Text),
  state: req(HostState),
  targetClosure: req(Text),
  currentClosureAtDispatch: opt(Text),
  currentClosure: opt(Text),
  revertedTo: opt(Text),
  dispatchedAt: req(TimestampCodec),
  dispatchAckedAt: opt(TimestampCodec),
  activationStartedAt: opt(TimestampCodec),
  activationCompletedAt: opt(TimestampCodec),
  activationFailedAt: opt(TimestampCodec),
  probeObservedFirstAt: opt(TimestampCodec),
  probeFailureFirstAt: opt(TimestampCodec),
  soakDueAt: opt(TimestampCodec),
  convergedAt: opt(TimestampCodec),
  failedAt: opt(TimestampCodec),
  policyApplied: opt(OnHealthFailure),
  revertedAt: opt(TimestampCodec),
  probes: withDefault(ProbeMap, {}),
  lastEventSeq: req(Seq),
});
export type HostRolloutState = t.TypeOf<typeof HostRolloutState>;

/** What the CP sends in `bootstrap_rollouts` for each of the host's active rollouts. */
export const HostRolloutSnapshot = struct('HostRolloutSnapshot', {
  rolloutId: req(RolloutId),
  hostname: req(Text),
  channel: req(Text),
  state: req(HostState),
  targetClosure: req(Text),
  currentClosureAtDispatch: opt(Text),
  currentClosure: opt(Text),
  dispatchedAt: req(TimestampCodec),
  dispatchAckedAt: opt(TimestampCodec),
  activationStartedAt: opt(TimestampCodec),
  activationCompletedAt: opt(TimestampCodec),
  soakDueAt: opt(TimestampCodec),
  lastEventSeq: req(Seq),
});
export type HostRolloutSnapshot = t.TypeOf<typeof HostRolloutSnapshot>;

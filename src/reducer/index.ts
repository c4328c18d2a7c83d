export { step } from './step';
export type { Transition, StepResult } from './types';
export { outbound } from './types';
export * from './errors';
export { newPending, AGENT_SELF_HOSTNAME } from './state';
export { rehydrationEffects, mergeSnapshot } from './rehydration';
export { guardRollback, guardSwitch } from './guard';
export {
  SUSTAINED_FAILURE_THRESHOLD_SECS,
  advanceTick,
  checkConvergence,
  checkSustainedFailure,
  type TickEvent,
} from './tick';
export { allEnforcePassing, failingEnforceProbes } from './probes';
export {
  agentStep,
  initialAgentState,
  channelPolicy,
  DEFAULT_AGENT_REDUCER_CONFIG,
  HELD_DISPATCH_CAPACITY,
  HELD_EVENT_CAPACITY,
  LIVE_RECORD_CAPACITY,
  SNAPSHOTS_PER_ANSWER_CAPACITY,
  TERMINAL_RECORD_CAPACITY,
  type FireRollback,
  type FireSwitch,
  type DispatchInput,
  type AgentEffect,
  type AgentReducerConfig,
  type AgentState,
  type AgentTransition,
  type LogLevelName,
  type ReducerInput,
} from './agent';
export type { ManifestSet, PolicySource } from './manifest-set';

export { step } from './step';
export type { Transition, StepResult } from './types';
export { outbound } from './types';
export * from './errors';
export { newPending, AGENT_SELF_HOSTNAME } from './state';
export { rehydrationEffects, mergeSnapshot } from './rehydration';
export {
  SUSTAINED_FAILURE_THRESHOLD_SECS,
  advanceTick,
  checkConvergence,
  checkSustainedFailure,
  type TickEvent,
} from './tick';
export { allEnforcePassing, failingEnforceProbes } from './probes';

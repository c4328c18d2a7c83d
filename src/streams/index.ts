export {
  createAgentGraph,
  ACTIVATION_INTENT_CAPACITY,
  DRAIN_DEADLINE_MS,
  REDUCER_INPUT_CAPACITY,
  type AgentGraph,
  type AgentGraphConfig,
  type AgentGraphDeps,
  type AgentPorts,
  type GraphStats,
  type StopResult,
} from './graph';
export { mailbox } from './mailbox';

// Public API of nixfleet-agent (the package entry, dist/index.js). Test
// harnesses embed these; changes here are breaking changes.
//
// - The host state machine: `step(state, event, policy, now)` → Either<TransitionError, { state, effects }>,
//   `newPending(...)`, the advance-tick gates and rehydration helpers.
// - The agent reducer around it: `agentStep(state, input, now)`.
// - The stream graph: `createAgentGraph({ ports, config, scheduler, logger })` returns
//   `{ inputs$, states$, effects$, post, start, stop }`; the port interfaces it needs.
// - The codecs for every shape it consumes and produces (io-ts; upstream's exact JSON).
export * from './codecs';
export * from './reducer';
export * from './streams';
export type * from './ports/activation';
export type * from './ports/control-plane';
export type * from './ports/host';
export type * from './ports/logger';
export type * from './ports/manifests';
export type * from './ports/probes';
// - Trust: JCS canonical JSON and signed-artifact verification (upstream's order and verdicts).
export {
  canonicalize,
  parseTrustConfig,
  verifyBootstrapNonces,
  verifyFleetResolved,
  verifyRevocations,
  verifyRolloutManifest,
  type VerifyError,
  type Verified,
} from './trust';
export { FleetResolved, RolloutManifest, Revocations } from './codecs/artifacts';
export { TrustConfig } from './codecs/trust-config';

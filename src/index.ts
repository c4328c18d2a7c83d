// Public API of nixfleet-agent (the package entry, dist/index.js). Test
// harnesses embed these; changes here are breaking changes.
//
// - The host state machine: `step(state, event, policy, now)` → Either<TransitionError, { state, effects }>,
//   `newPending(...)`, the advance-tick gates and rehydration helpers.
// - The agent reducer around it: `agentStep(state, input, now)`.
// - The stream graph: `createAgentGraph({ ports, config, scheduler, logger })` returns
//   `{ inputs$, states$, effects$, state, stats, post, start, stop }`.
// - The codecs for every shape it consumes and produces (io-ts; upstream's exact JSON).
export * from './codecs';
export * from './reducer';
export * from './streams';
// - Every port a harness implements (src/ports/*), with their helpers
//   (silentLogger, StoreError, describeCpError, errorMessage, …). In-memory ones and a
//   virtual-time fleet runner: `nixfleet-agent/testing` (src/testing).
export * from './ports/activation';
export * from './ports/control-plane';
export * from './ports/error-text';
export * from './ports/host';
export * from './ports/logger';
export * from './ports/manifests';
export * from './ports/probes';
export * from './ports/process';
export * from './ports/store';
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

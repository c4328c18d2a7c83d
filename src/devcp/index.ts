// The development control plane: a real HTTPS peer for the agent (mTLS,
// enrollment, dispatch, events into the CP mirror, CI-signed artifacts).
export { startDevCp, trustConfigOf, trustJsonOf, DEFAULT_CN_SUFFIX, DEVCP_DEFAULTS, type DevCp, type DevCpFiles, type DevCpOptions, type DevCpStats, type TokenOptions } from './dev-cp';
export type { ReleaseOptions, ReleaseResult } from './ci';
export type { HeartbeatResult } from './database';
export type { HostView, RolloutView } from './views';
export { DEFAULT_CHANNEL, DEFAULT_SOAK_MINUTES, looksLikeRolloutId, type HostDecl, type ReleasePolicy, type SignedBytes } from './fleet';
export { generateSigningKey, loadSigningKey, type SigningKey } from './keys';
export type { EventRow } from './persist';
export { mintToken, newNonce, verifyTokenSignature, type MintTokenOptions } from './tokens';
export {
  canonicalAgentCn,
  createFleetCa,
  exportCaKeyPem,
  extractMachineId,
  issueClientCert,
  issueFromCsr,
  issueServerCert,
  loadFleetCa,
  makeHostKey,
  sshPublicLineOf,
  type FleetCa,
  type HostKeyMaterial,
  type IssuedCert,
  type KeyedCert,
} from './pki';
export { runDevCpCli, startDevCpCli } from './cli';
export type { Reply as DevCpReply, Request as DevCpRequest } from './http';

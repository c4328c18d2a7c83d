// The control-plane HTTP client (axios over a swappable mTLS https.Agent).
export { createAgentPool, type AgentOptions, type AgentPool, type Lease, type PreparedAgent, type TlsMaterial } from './agents';
export { CP_CLIENT_DEFAULTS, createCpClient, MAX_WAIT_SECS, rolloutPath, type CpClient, type CpClientConfig } from './client';
export {
  artifactBytes,
  bodyExcerpt,
  decodeBody,
  deliveryOutcome,
  dispatchAnswer,
  heartbeatAnswer,
  issuedCert,
  MAX_ERROR_TEXT,
  parseRetryAfter,
  replayFromOf,
  statusError,
} from './decode';
export { createTransport, type HttpRequest, type HttpResponse, type Transport, type TransportOptions } from './transport';
export { noProxyMatches, parseNoProxy, parseProxyUrl, ProxyConfigError, proxyFor, proxySettingsFromEnv, type NoProxy, type ProxyEndpoint, type ProxyEnv, type ProxySettings } from './proxy-env';
export { connectThroughProxy, ProxyError, TunnelingAgent } from './proxy-tunnel';
export { MAX_REDIRECTS } from './transport';

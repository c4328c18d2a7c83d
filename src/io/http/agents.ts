// The HTTPS agent behind every request, and its live replacement after a
// certificate renewal. Upstream builds each worker's client once and needs a
// restart to pick up a renewed cert (reference agent-runtime §8.8); here new
// requests take the new identity at once, requests in flight finish on the
// agent they started with, and a retired agent is destroyed when its last
// request ends.
import * as https from 'node:https';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { SchedulerLike } from 'rxjs';
import type { ProxyEndpoint } from './proxy-env';
import { TunnelingAgent } from './proxy-tunnel';

/** PEM texts; `cert` and `key` go together or not at all. */
export interface TlsMaterial {
  /**
   * CA bundle that must sign the CP's server certificate. Required: without
   * it Node would trust its ~150 public roots, and anyone holding a publicly
   * issued certificate for the CP's name could impersonate it.
   */
  readonly ca: string;
  /** Client certificate (leaf first). */
  readonly cert?: string;
  /** Client private key, PKCS#8 PEM. */
  readonly key?: string;
}

export interface AgentOptions {
  readonly scheduler: SchedulerLike;
  /** TCP + TLS handshake budget; upstream's connect timeout is 10 s. */
  readonly connectTimeoutMs: number;
  /** Also trust the public roots besides the CA (upstream does; we default to the CA alone). */
  readonly trustSystemRoots: boolean;
  /** Concurrent sockets per agent: long-poll, heartbeat, event, artifact, renew at most. */
  readonly maxSockets: number;
  /** The HTTP proxy every connection tunnels through (CONNECT), if any. */
  readonly proxy?: ProxyEndpoint;
}

/** A validated identity, ready to be installed. */
export interface PreparedAgent {
  readonly material: TlsMaterial;
  readonly agent: https.Agent;
}

export interface Lease {
  readonly agent: https.Agent;
  release(): void;
}

export interface AgentPool {
  /** Take the current agent for one request; `release` exactly once when the request ends. */
  lease(): Lease;
  /** Builds (and so validates) an agent; throws on unusable material, changing nothing. */
  prepare(material: TlsMaterial): PreparedAgent;
  /** Makes `prepared` current; the previous agent retires once idle. */
  install(prepared: PreparedAgent): void;
  readonly material: TlsMaterial;
  /** Number of installs so far (0 for the first identity). */
  readonly generation: number;
  close(): void;
}

/** https.Agent (through the proxy, if any) whose connections are destroyed if TCP, CONNECT and TLS are not done within the budget. */
class ConnectTimeoutAgent extends TunnelingAgent {
  constructor(
    options: https.AgentOptions,
    proxy: ProxyEndpoint | undefined,
    private readonly connectTimeoutMs: number,
    private readonly scheduler: SchedulerLike,
  ) {
    super(options, proxy);
  }

  protected override watchConnection(): (socket: net.Socket) => void {
    const ms = this.connectTimeoutMs;
    let current: net.Socket | undefined;
    const timer = this.scheduler.schedule(() => current?.destroy(Object.assign(new Error(`connect timeout after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    const clear = (): void => timer.unsubscribe();
    return (socket) => {
      current = socket;
      if (socket instanceof tls.TLSSocket) socket.once('secureConnect', clear);
      socket.once('close', clear);
    };
  }
}

function secureContextOptions(material: TlsMaterial, trustSystemRoots: boolean): tls.SecureContextOptions {
  if ((material.cert === undefined) !== (material.key === undefined)) throw new Error('client certificate and key must be given together');
  // Checked at run time too: a context without `ca` silently falls back to
  // Node's public roots, and one whose `ca` holds no certificate fails every
  // handshake with a vague "unable to get local issuer certificate".
  if (typeof material.ca !== 'string' || material.ca.trim() === '') throw new Error('no CA certificate (--ca-cert): refusing to trust the public roots for the control plane');
  if (!material.ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('the CA certificate (--ca-cert) holds no PEM certificate');
  const ca = trustSystemRoots ? [...tls.rootCertificates, material.ca] : [material.ca];
  return {
    minVersion: 'TLSv1.2',
    ca,
    ...(material.cert === undefined ? {} : { cert: material.cert }),
    ...(material.key === undefined ? {} : { key: material.key }),
  };
}

export function createAgentPool(initial: TlsMaterial, options: AgentOptions): AgentPool {
  const prepare = (material: TlsMaterial): PreparedAgent => {
    // createSecureContext parses everything now (bad PEM, key/cert mismatch throw here).
    const secureContext = tls.createSecureContext(secureContextOptions(material, options.trustSystemRoots));
    const agent = new ConnectTimeoutAgent(
      { secureContext, minVersion: 'TLSv1.2', rejectUnauthorized: true, keepAlive: false, maxSockets: options.maxSockets },
      options.proxy,
      options.connectTimeoutMs,
      options.scheduler,
    );
    return { material, agent };
  };

  let current = prepare(initial);
  let generation = 0;
  let closed = false;
  const inFlight = new Map<https.Agent, number>();
  const retired = new Set<https.Agent>();

  const retireIfIdle = (agent: https.Agent): void => {
    if (retired.has(agent) && (inFlight.get(agent) ?? 0) === 0) {
      retired.delete(agent);
      inFlight.delete(agent);
      agent.destroy();
    }
  };

  return {
    lease() {
      if (closed) throw new Error('HTTP client is closed');
      const agent = current.agent;
      inFlight.set(agent, (inFlight.get(agent) ?? 0) + 1);
      let released = false;
      return {
        agent,
        release() {
          if (released) return;
          released = true;
          inFlight.set(agent, (inFlight.get(agent) ?? 1) - 1);
          retireIfIdle(agent);
        },
      };
    },
    prepare,
    install(prepared) {
      if (closed) {
        prepared.agent.destroy();
        return;
      }
      const old = current.agent;
      current = prepared;
      generation += 1;
      retired.add(old);
      retireIfIdle(old);
    },
    get material() {
      return current.material;
    },
    get generation() {
      return generation;
    },
    close() {
      closed = true;
      for (const agent of [current.agent, ...retired]) agent.destroy();
      retired.clear();
      inFlight.clear();
    },
  };
}

// Prometheus metrics (opt-in, loopback only): what an operator needs to see
// a rollout from the host's side. Values are read from the graph's state, the
// store and the graph's own host and cert ports at scrape time (prom-client
// awaits an async collect); activation durations are observed as they end.
// Beside them, prom-client's process_* and nodejs_* defaults (memory, CPU,
// file descriptors, event-loop lag: what a fleet's dashboards already chart)
// and nixfleet_agent_build_info{version}, so a scrape says which agent runs.
import * as http from 'http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { catchError, firstValueFrom, map, of, type Observable, type Subscription } from 'rxjs';
import { instantOf, type Timestamp } from '../codecs/timestamp';
import { HOST_STATES } from '../codecs/scalars';
import { errorMessage } from '../ports/error-text';
import type { CertPort, HostPort } from '../ports/host';
import type { Logger } from '../ports/logger';
import type { AgentState, ReducerInput } from '../reducer/agent-state';
import { VERSION } from '../version';

/** What the metrics read of the graph (src/streams/graph.ts AgentGraph has it; an adapter does not import the graph). */
export interface GraphView {
  readonly inputs$: Observable<ReducerInput>;
  state(): AgentState;
  stats(): { readonly inputsDropped: number; readonly eventsDelivered: number; readonly lastContactAt?: string };
}

export interface MetricsSources {
  readonly graph: GraphView;
  readonly queueStats: () => { queued: number; deadLettered: number } | undefined;
  /** The running closure (the graph's host port). */
  readonly host: HostPort;
  /** The client certificate (the graph's cert port); its expiry is read per scrape. */
  readonly cert: Pick<CertPort, 'validity'>;
  /** Scheduler clock in ms, to time activations. */
  readonly nowMs: () => number;
  /** `version` label of nixfleet_agent_build_info; default package.json's. */
  readonly version?: string;
}

/** One reading per scrape; a port that fails reads as absent (the gauge is left out). */
const read = <T>(o: Observable<T>): Promise<T | undefined> => firstValueFrom(o.pipe(catchError(() => of(undefined))), { defaultValue: undefined });

const seconds = (t: Timestamp): number => {
  const i = instantOf(t);
  return i.seconds + i.nanos / 1e9;
};

export interface AgentMetrics {
  readonly registry: Registry;
  close(): void;
}

export function createMetrics(src: MetricsSources): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'nixfleet_agent_build_info', help: 'The running agent (value 1).', labelNames: ['version'], registers: [registry] }).set({ version: src.version ?? VERSION }, 1);
  const state = () => src.graph.state();
  new Gauge({
    name: 'nixfleet_agent_current_closure_info',
    help: 'The closure /run/current-system points at (value 1).',
    labelNames: ['closure'],
    registers: [registry],
    async collect() {
      const c = await read(src.host.currentClosure());
      this.reset();
      if (c !== undefined) this.set({ closure: c }, 1);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_rollout_target_closure_info',
    help: 'Target closure of each rollout this host knows (value 1).',
    labelNames: ['rollout_id', 'closure'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of Object.values(state().hosts)) this.set({ rollout_id: h.rolloutId, closure: h.targetClosure }, 1);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_rollout_state',
    help: 'Host state per rollout: 1 for the current state, 0 for the others.',
    labelNames: ['rollout_id', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of Object.values(state().hosts)) for (const s of HOST_STATES) this.set({ rollout_id: h.rolloutId, state: s }, h.state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_probe_passing',
    help: 'Latest probe result per rollout: 1 pass, 0 fail.',
    labelNames: ['rollout_id', 'probe', 'mode'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of Object.values(state().hosts))
        for (const [name, p] of Object.entries(h.probes)) this.set({ rollout_id: h.rolloutId, probe: name, mode: p.mode }, p.status === 'pass' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_needs_reboot',
    help: '1 when a rollout is Deferred: its closure activates on the next boot.',
    registers: [registry],
    collect() {
      this.set(Object.values(state().hosts).some((h) => h.state === 'Deferred') ? 1 : 0);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_outbound_queue_depth',
    help: 'Events waiting in the durable outbound queue.',
    registers: [registry],
    collect() {
      this.set(src.queueStats()?.queued ?? 0);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_outbound_dead_letters',
    help: 'Events the control plane refused for good (see `nixfleet-agent status`).',
    registers: [registry],
    collect() {
      this.set(src.queueStats()?.deadLettered ?? 0);
    },
  });
  new Gauge({
    name: 'nixfleet_agent_last_cp_contact_timestamp_seconds',
    help: 'When the control plane last answered a heartbeat (Unix time).',
    registers: [registry],
    collect() {
      const at = src.graph.stats().lastContactAt;
      if (at !== undefined) this.set(seconds(at as Timestamp));
    },
  });
  new Gauge({
    name: 'nixfleet_agent_client_cert_not_after_timestamp_seconds',
    help: 'Expiry of the mTLS client certificate (Unix time).',
    registers: [registry],
    async collect() {
      const t = await read(src.cert.validity().pipe(map((v) => v.notAfter)));
      if (t !== undefined) this.set(seconds(t));
    },
  });
  new Counter({
    name: 'nixfleet_agent_events_delivered_total',
    help: 'Events the control plane acknowledged.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.graph.stats().eventsDelivered);
    },
  });
  new Counter({
    name: 'nixfleet_agent_reducer_inputs_dropped_total',
    help: 'Inputs dropped because the reducer mailbox was full (should stay 0).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.graph.stats().inputsDropped);
    },
  });
  const durations = new Histogram({
    name: 'nixfleet_agent_activation_duration_seconds',
    help: 'From LocalActivationStarted to the activation outcome.',
    labelNames: ['outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const started = new Map<string, number>();
  const sub: Subscription = src.graph.inputs$.subscribe((input) => {
    if (input.kind !== 'HostEvent') return;
    const { rolloutId, event } = input;
    if (event.kind === 'LocalActivationStarted') started.set(rolloutId, src.nowMs());
    const outcome = { LocalActivationCompleted: 'completed', LocalActivationFailed: 'failed', LocalActivationDeferred: 'deferred' }[event.kind as string];
    const t0 = started.get(rolloutId);
    if (outcome !== undefined && t0 !== undefined) {
      durations.observe({ outcome }, (src.nowMs() - t0) / 1000);
      started.delete(rolloutId);
    }
  });
  return { registry, close: () => sub.unsubscribe() };
}

/** Serve `GET /metrics` on a loopback `host:port`; resolves the bound port through `onListening`. */
export function serveMetrics(registry: Registry, listen: string, logger: Logger, onListening?: (port: number) => void): http.Server {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(errorMessage(err)),
    );
  });
  server.on('error', (err) => logger.error('metrics endpoint failed', { listen, error: err.message }));
  server.listen(port, host, () => {
    const addr = server.address();
    const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
    logger.info('metrics endpoint listening', { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics` });
    onListening?.(bound);
  });
  return server;
}

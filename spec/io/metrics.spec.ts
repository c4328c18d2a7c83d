// Metrics read from a real graph run (virtual time), then scraped over HTTP
// from 127.0.0.1 and read with an independent exposition parser.
import * as http from 'http';
import { asyncScheduler, of, throwError } from 'rxjs';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { createMetrics, serveMetrics } from '../../src/io/metrics';
import { MemoryLogger, probe } from '../fakes/ports';
import { harness, type Harness } from '../support/graph-harness';
import { marbles } from '../support/marbles';
import { parseExposition } from '../support/prom-text';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const PACKAGE_VERSION = (require('../../package.json') as { version: string }).version;

// A cert port whose file cannot be read: the expiry gauge is left out, the scrape still works.
const noCert = { validity: () => throwError(() => new Error('no client certificate configured')) };

function rollout(): Harness {
  let h: Harness | undefined;
  marbles((ts) => {
    h = harness(ts, { probes: [probe('web'), probe('ev', 'observe')] });
    h.activation.durationMs = 42_000;
    h.probes.result = (name) => ({ status: name === 'ev' ? 'fail' : 'pass' });
    h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
    h.stopAt(400_000);
  });
  return h as Harness;
}

describe('metrics', () => {
  it('show the rollout state, probes, activation duration, queue and certificate', async () => {
    const h = rollout();
    const m = createMetrics({
      graph: h.graph,
      queueStats: () => ({ queued: 2, deadLettered: 1 }),
      cert: { validity: () => of({ notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(86_400_000) }) },
      host: { currentClosure: () => of('target-closure') },
      nowMs: () => asyncScheduler.now(),
    });
    const text = await m.registry.metrics();
    expect(text).toContain('nixfleet_agent_rollout_state{rollout_id="stable@r1",state="Converged"} 1');
    expect(text).toContain('nixfleet_agent_rollout_state{rollout_id="stable@r1",state="Soaking"} 0');
    expect(text).toContain('nixfleet_agent_current_closure_info{closure="target-closure"} 1');
    expect(text).toContain('nixfleet_agent_outbound_queue_depth 2');
    expect(text).toContain('nixfleet_agent_outbound_dead_letters 1');
    expect(text).toContain('nixfleet_agent_client_cert_not_after_timestamp_seconds 86400');
    expect(text).toContain('nixfleet_agent_needs_reboot 0');
    expect(text).toContain('nixfleet_agent_reducer_inputs_dropped_total 0');
    m.close();
  });

  it('time activations from Started to the outcome', async () => {
    let text = '';
    marbles((ts) => {
      const h = harness(ts);
      h.activation.durationMs = 42_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      const m = createMetrics({ graph: h.graph, queueStats: () => undefined, cert: noCert, host: { currentClosure: () => of(undefined) }, nowMs: () => ts.now() });
      h.stopAt(100_000);
      h.at(() => void m.registry.getSingleMetricAsString('nixfleet_agent_activation_duration_seconds').then((t) => (text = t)), 99_000);
    });
    await new Promise((r) => setImmediate(r));
    expect(text).toContain('nixfleet_agent_activation_duration_seconds_sum{outcome="completed"} 42');
    expect(text).toContain('nixfleet_agent_activation_duration_seconds_count{outcome="completed"} 1');
  });

  it('serve GET /metrics on loopback, 404 elsewhere', async () => {
    const h = rollout();
    const m = createMetrics({ graph: h.graph, queueStats: () => undefined, cert: noCert, host: { currentClosure: () => of(undefined) }, nowMs: () => 0 });
    let server: http.Server | undefined;
    const port = await new Promise<number>((resolve) => (server = serveMetrics(m.registry, '127.0.0.1:0', new MemoryLogger(), resolve)));
    const get = (p: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: p }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject),
      );
    const ok = await get('/metrics');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('nixfleet_agent_rollout_state');
    expect((await get('/')).status).toBe(404);
    m.close();
    await new Promise((r) => server?.close(r));
  });
});

describe('metrics endpoint, as a scraper reads it', () => {
  it('serves process_*, nodejs_* and build_info beside the agent families, in valid exposition format', async () => {
    const h = rollout();
    const m = createMetrics({ graph: h.graph, queueStats: () => ({ queued: 0, deadLettered: 0 }), cert: noCert, host: { currentClosure: () => of('target-closure') }, nowMs: () => 0 });
    let server: http.Server | undefined;
    const port = await new Promise<number>((resolve) => (server = serveMetrics(m.registry, '127.0.0.1:0', new MemoryLogger(), resolve)));
    try {
      const body = await new Promise<string>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject),
      );
      const families = parseExposition(body);
      const family = (name: string) => {
        const f = families.get(name);
        if (f === undefined) throw new Error(`no ${name} in the scrape`);
        return f;
      };
      expect(family('nixfleet_agent_build_info')).toMatchObject({ type: 'GAUGE', metrics: [{ value: '1', labels: { version: PACKAGE_VERSION } }] });
      expect(family('nodejs_version_info').metrics[0]?.labels).toMatchObject({ version: process.version });
      for (const [name, type] of [
        ['process_cpu_user_seconds_total', 'COUNTER'],
        ['process_resident_memory_bytes', 'GAUGE'],
        ['process_start_time_seconds', 'GAUGE'],
        ['process_open_fds', 'GAUGE'],
        ['nodejs_heap_size_used_bytes', 'GAUGE'],
        ['nodejs_eventloop_lag_seconds', 'GAUGE'],
      ] as const) {
        expect(family(name).type).toBe(type);
        expect(Number(family(name).metrics[0]?.value)).toBeGreaterThanOrEqual(0);
      }
      expect(Number(family('process_resident_memory_bytes').metrics[0]?.value)).toBeGreaterThan(0);
      const states = family('nixfleet_agent_rollout_state').metrics.filter((s) => s.value === '1');
      expect(states.map((s) => s.labels)).toEqual([{ rollout_id: 'stable@r1', state: 'Converged' }]);
      expect(family('nixfleet_agent_rollout_state').metrics).toHaveLength(7);
      expect(family('nixfleet_agent_probe_passing').metrics.map((s) => [s.labels, s.value])).toEqual([
        [{ rollout_id: 'stable@r1', probe: 'web', mode: 'enforce' }, '1'],
        [{ rollout_id: 'stable@r1', probe: 'ev', mode: 'observe' }, '0'],
      ]);
      expect(family('nixfleet_agent_current_closure_info').metrics).toEqual([{ value: '1', labels: { closure: 'target-closure' } }]);
      // The parser folds a labelled histogram's samples together (labels, sum and
      // count lost); its values are checked on the text above, its type here.
      expect(family('nixfleet_agent_activation_duration_seconds').type).toBe('HISTOGRAM');
    } finally {
      m.close();
      await new Promise((r) => server?.close(r));
    }
  });
});

// The agent endpoints of the dev CP driven by the agent's own HTTP client
// over loopback mTLS: heartbeat (recovery synthesis, bootstrap snapshots,
// Replay-From), event ingestion through the mirror (dedupe, drops that are
// still 204), the read views, and the pipeline's 401/403/426/503 answers.
import * as fs from 'node:fs';
import { firstValueFrom } from 'rxjs';
import { encodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope, type AgentEvent } from '../../src/codecs/events';
import { fromEpochMillis, type Timestamp } from '../../src/codecs/timestamp';
import type { DevCp } from '../../src/devcp/dev-cp';
import { createFleetCa, issueClientCert } from '../../src/devcp/pki';
import type { CpClient } from '../../src/io/http/client';
import { createCpClient } from '../../src/io/http/client';
import { CLOSURE_A, CLOSURE_B, CLOSURE_DB, enrolled, keys, raw, startCp, type AgentFiles, type Keys } from './support';

const now = (): Timestamp => fromEpochMillis(Date.now());

describe('dev CP agent endpoints', () => {
  let k: Keys;
  let cp: DevCp;
  let web: { client: CpClient; files: AgentFiles };
  let db: { client: CpClient; files: AgentFiles };
  let webTls: { cert: string; key: string };

  beforeAll(async () => {
    k = await keys();
    cp = await startCp(k);
    web = await enrolled(cp, k.web, 'web-01');
    db = await enrolled(cp, k.db, 'db-01');
    webTls = { cert: fs.readFileSync(web.files.cert, 'utf8'), key: k.web.pkcs8Pem };
  });
  afterAll(async () => {
    web.client.close();
    db.client.close();
    await cp.close();
  });

  const envelope = (rolloutId: string, event: AgentEvent, hostname = 'web-01'): string => encodeJson(AgentEventEnvelope, { hostname, rolloutId, event });
  const post = (body: string, client = web.client) => firstValueFrom(client.postEvent(body));

  describe('heartbeat', () => {
    it('boot-recovery shape: one snapshot per active record; none when the heartbeat names a rollout', async () => {
      const r = cp.release({ closures: { 'web-01': CLOSURE_B, 'db-01': CLOSURE_DB }, policy: 'halt', soakMinutes: 5 });
      const at = now();
      const answer = await firstValueFrom(web.client.heartbeat({ hostname: 'web-01', currentClosure: CLOSURE_A, at }));
      expect(answer.receivedAt).toBe(at);
      expect(answer.bootstrapRollouts).toEqual([
        { rolloutId: r.rolloutId, hostname: 'web-01', channel: 'stable', state: 'Pending', targetClosure: CLOSURE_B, dispatchedAt: expect.any(String), soakDueAt: r.soakDueAt, lastEventSeq: 0 },
      ]);
      const named = await firstValueFrom(web.client.heartbeat({ hostname: 'web-01', rolloutId: r.rolloutId, currentClosure: CLOSURE_A, at }));
      expect(named.bootstrapRollouts).toEqual([]);
      // The CP's record holds no current closure yet: Replay-From carries its last seq.
      expect(named.replayFrom).toBe(0);
    });

    it('recovery synthesis: Activating + current == target completes to Soaking (seq = last + 1)', async () => {
      const r = cp.release({ closures: { 'web-01': CLOSURE_A }, policy: 'halt', soakMinutes: 5 });
      expect(await post(envelope(r.rolloutId, { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_A, receivedAt: now(), seq: 1 }))).toEqual({ kind: 'acked' });
      expect(cp.record(r.rolloutId, 'web-01')?.state).toBe('Activating');
      const answer = await firstValueFrom(web.client.heartbeat({ hostname: 'web-01', currentClosure: CLOSURE_A, at: now() }));
      expect(cp.record(r.rolloutId, 'web-01')).toMatchObject({ state: 'Soaking', lastEventSeq: 2 });
      expect(answer.bootstrapRollouts.map((s) => [s.rolloutId, s.state, s.lastEventSeq])).toEqual([[r.rolloutId, 'Soaking', 2]]);
      expect(cp.events(r.rolloutId).map((e) => [e.event.kind, e.event.seq, e.outcome])).toEqual([
        ['DispatchAck', 1, 'applied'],
        ['ActivationCompleted', 2, 'synthesized'],
      ]);
    });

    it('a wiped CP re-opens the current rollout as Pending, and a heartbeat with the target rebuilds it to Converged', async () => {
      const r = cp.release({ closures: { 'web-01': CLOSURE_B }, policy: 'rollback-and-halt', soakMinutes: 0.5 });
      cp.wipeDatabase();
      expect(cp.record(r.rolloutId, 'web-01')).toMatchObject({ state: 'Pending', lastEventSeq: 0 });
      expect(cp.events()).toEqual([]);
      const at = now();
      const answer = await firstValueFrom(web.client.heartbeat({ hostname: 'web-01', currentClosure: CLOSURE_B, at }));
      const rec = cp.record(r.rolloutId, 'web-01');
      expect(rec).toMatchObject({ state: 'Converged', lastEventSeq: 3, currentClosure: CLOSURE_B });
      // Converged at the later of the heartbeat and the soak deadline.
      expect(rec?.convergedAt).toBe(rec?.soakDueAt);
      expect(answer.bootstrapRollouts).toEqual([]);
      expect(cp.events(r.rolloutId).map((e) => [e.event.kind, e.outcome])).toEqual([
        ['DispatchAck', 'synthesized'],
        ['ActivationCompleted', 'synthesized'],
        ['Converged', 'synthesized'],
      ]);
      // Idempotent: the next heartbeat changes nothing.
      await firstValueFrom(web.client.heartbeat({ hostname: 'web-01', currentClosure: CLOSURE_B, at: now() }));
      expect(cp.record(r.rolloutId, 'web-01')).toEqual(rec);
    });

    it('403 when the body hostname is not the certificate machine id', async () => {
      await expect(firstValueFrom(db.client.heartbeat({ hostname: 'web-01', at: now() }))).rejects.toMatchObject({ kind: 'status', status: 403 });
    });
  });

  describe('events', () => {
    it('dedupes a replayed stream on (host, rollout, seq), drops unknown and illegal events with 204, and ends where the agent ends', async () => {
      const r = cp.release({ closures: { 'web-01': CLOSURE_A }, policy: 'halt', soakMinutes: 0 });
      const id = r.rolloutId;
      const stream: AgentEvent[] = [
        { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_A, receivedAt: now(), seq: 1 },
        { kind: 'ActivationStarted', startedAt: now(), switchMethod: 'switch-to-configuration', seq: 2 },
        { kind: 'ActivationCompleted', observedCurrentClosure: CLOSURE_A, exitCode: 0, completedAt: now(), seq: 3 },
        { kind: 'ProbeTopologyDeclared', probes: [{ probeName: 'web', kind: 'http', mode: 'enforce' }], declaredAt: now(), seq: 4 },
        { kind: 'ProbeResult', probeName: 'web', mode: 'enforce', status: 'pass', observedAt: now(), seq: 5 },
      ];
      // The agent's outbound queue retries after lost answers: the CP sees the prefix again.
      for (const e of [...stream.slice(0, 3), ...stream]) expect(await post(envelope(id, e))).toEqual({ kind: 'acked' });
      expect(await post(envelope(id, { kind: 'Converged', convergedAt: now(), currentClosure: CLOSURE_A, seq: 6 }))).toEqual({ kind: 'acked' });
      expect(await post(envelope(id, { kind: 'Converged', convergedAt: now(), currentClosure: CLOSURE_A, seq: 6 }))).toEqual({ kind: 'acked' });
      expect(await post(envelope(id, { kind: 'ActivationFailed', exitCode: 1, stderrTail: 'x', failedAt: now(), seq: 7 }))).toEqual({ kind: 'acked' });
      expect(await post(envelope('stable@00ff', { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: now(), seq: 1 }))).toEqual({ kind: 'acked' });

      expect(cp.record(id, 'web-01')).toMatchObject({ state: 'Converged', lastEventSeq: 6, probes: { web: { status: 'pass', mode: 'enforce' } } });
      expect(cp.events(id).map((e) => `${e.event.seq}:${e.outcome}`)).toEqual([
        '1:applied',
        '2:applied',
        '3:applied',
        '1:duplicate',
        '2:duplicate',
        '3:duplicate',
        '4:applied',
        '5:applied',
        '6:applied',
        '6:duplicate',
        '7:rejected',
      ]);
      expect(cp.events('stable@00ff').map((e) => e.outcome)).toEqual(['unknown-record']);

      // The same log over HTTP, in upstream's shape plus the outcome.
      const res = await raw(cp, { path: `/v1/rollouts/${id}/events?limit=3`, ...webTls });
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text()) as { rollout_id: string; events: Record<string, unknown>[] };
      expect(body.rollout_id).toBe(id);
      expect(body.events.map((e) => [e['kind'], e['host'], (e['payload'] as { kind: string }).kind, e['outcome']])).toEqual([
        ['agent_event', 'web-01', 'DispatchAck', 'applied'],
        ['agent_event', 'web-01', 'ActivationStarted', 'applied'],
        ['agent_event', 'web-01', 'ActivationCompleted', 'applied'],
      ]);
      expect((await raw(cp, { path: '/v1/rollouts/not-an-id/events', ...webTls })).status).toBe(400);

      const hosts = JSON.parse((await raw(cp, { path: '/v1/hosts', ...webTls })).text()) as { hosts: { hostname: string; rolloutState: string; lastRolloutId: string; records: { rolloutId: string; lastEventSeq: number }[] }[] };
      const webView = hosts.hosts.find((h) => h.hostname === 'web-01');
      expect(webView).toMatchObject({ rolloutState: 'Converged', lastRolloutId: id, converged: true, declaredClosureHash: CLOSURE_A });
      expect(webView?.records.find((x) => x.rolloutId === id)?.lastEventSeq).toBe(6);
    });

    it('403 for an envelope of another host; 415 / 400 / 422 for bodies that are not an envelope', async () => {
      const id = cp.release({ closures: { 'web-01': CLOSURE_B }, soakMinutes: 0 }).rolloutId;
      expect(await post(envelope(id, { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: now(), seq: 1 }, 'web-01'), db.client)).toMatchObject({ kind: 'retry', status: 403 });
      const p = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => raw(cp, { method: 'POST', path: '/v1/agent/events', headers, body, ...webTls });
      expect((await p(envelope(id, { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: now(), seq: 1 }), {})).status).toBe(415);
      expect((await p('{"hostname":')).status).toBe(400);
      const shape = await p('{"hostname":"web-01","rolloutId":"x","event":{"kind":"Dispatch","seq":1}}');
      // A short plain-text reason with the JSON path (upstream's CP sends no body).
      expect([shape.status, shape.text()]).toEqual([422, expect.stringMatching(/^\S.*\$\.event/)]);
      expect((await p('{"hostname":"web-01","rolloutId":"x","event":{"kind":"DispatchAck","seq":-1}}')).status).toBe(422);
      expect(cp.record(id, 'web-01')?.state).toBe('Pending');
    });
  });

  describe('pipeline', () => {
    it('401 without a client certificate, or with one from another CA', async () => {
      const anonymous = createCpClient({ baseUrl: cp.url, tls: { ca: cp.caCertPem } });
      await expect(firstValueFrom(anonymous.heartbeat({ hostname: 'web-01', at: now() }))).rejects.toMatchObject({ kind: 'status', status: 401 });
      await expect(firstValueFrom(anonymous.dispatch(0))).rejects.toMatchObject({ kind: 'status', status: 401 });
      anonymous.close();
      const other = await createFleetCa({ nowMs: Date.now(), name: 'someone else' });
      const forged = await issueClientCert(other, { cn: 'agent-web-01.fleet.lab.internal', publicRaw: k.web.publicRaw, nowMs: Date.now() });
      const res = await raw(cp, { path: '/v1/whoami', cert: forged.certPem, key: k.web.pkcs8Pem });
      expect(res.status).toBe(401);
    });

    it('protocol header: absent or 1 accepted, another integer 426, garbage 400', async () => {
      const hb = (headers: Record<string, string>) =>
        raw(cp, { method: 'POST', path: '/v1/agent/heartbeat', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ hostname: 'web-01', at: now() }), ...webTls });
      expect((await hb({})).status).toBe(200);
      expect((await hb({ 'x-nixfleet-protocol': '1' })).status).toBe(200);
      expect((await hb({ 'x-nixfleet-protocol': '2' })).status).toBe(426);
      expect((await hb({ 'x-nixfleet-protocol': 'one' })).status).toBe(400);
      // The version check runs before the identity check, as upstream's layers.
      expect((await raw(cp, { path: '/v1/whoami', headers: { 'x-nixfleet-protocol': '0' } })).status).toBe(426);
      // A steady-state heartbeat (it names its rollout): `received_at` only, snapshots omitted.
      const at = now();
      const steady = await raw(cp, {
        method: 'POST',
        path: '/v1/agent/heartbeat',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hostname: 'web-01', rollout_id: 'stable@00', at }),
        ...webTls,
      });
      expect(steady.text()).toBe(JSON.stringify({ received_at: at }));
    });

    it('readiness gate: 503 + Retry-After: 30 and upstream body on /v1/*, /healthz unaffected', async () => {
      cp.setReady(false);
      try {
        const res = await raw(cp, { path: '/v1/whoami', ...webTls });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('30');
        expect(JSON.parse(res.text())).toEqual({ error: 'control plane not ready', reason: 'awaiting first signed artifact' });
        const health = await raw(cp, { path: '/healthz' });
        expect(health.status).toBe(200);
        expect(JSON.parse(health.text())).toMatchObject({ ok: true, last_tick_at: null });
      } finally {
        cp.setReady(true);
      }
    });

    it('413 for a body over the cap, unknown paths 404, wrong methods 405', async () => {
      for (const size of [1024 * 1024 + 1, 4 * 1024 * 1024]) {
        const res = await raw(cp, { method: 'POST', path: '/v1/agent/events', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(size, 0x20), ...webTls });
        expect(res.status).toBe(413);
      }
      expect((await raw(cp, { path: '/v1/nothing', ...webTls })).status).toBe(404);
      expect((await raw(cp, { path: '/elsewhere' })).status).toBe(404);
      expect((await raw(cp, { method: 'DELETE', path: '/v1/fleet.resolved', ...webTls })).status).toBe(405);
      expect((await raw(cp, { path: '/v1/agent/heartbeat', ...webTls })).status).toBe(405);
    });

    it('an interceptor replaces answers (fault injection) until removed', async () => {
      cp.setInterceptor((req) => (req.path === '/v1/agent/heartbeat' ? { status: 200, body: 'garbage{' } : undefined));
      await expect(firstValueFrom(web.client.heartbeat({ hostname: 'web-01', at: now() }))).rejects.toMatchObject({ kind: 'decode' });
      cp.setInterceptor(undefined);
      await expect(firstValueFrom(web.client.heartbeat({ hostname: 'web-01', at: now() }))).resolves.toBeDefined();
    });
  });
});

// Every agent endpoint against a real loopback HTTPS server with mTLS:
// request shapes on the wire, decoded answers, and upstream's status handling.
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import type { CpClient } from '../../../src/io/http/client';
import { describeCpError, type CpError } from '../../../src/ports/control-plane';
import type { TlsTestServer } from '../../support/tls-server';
import { ts } from '../../support/decode';
import { client, memoryLogger, nodeSerial, pki, server, type Pki } from './support';

const ROLLOUT = 'stable@3f9c2a1e4b5d6c7e8f90a1b2c3d4e5f607182930';
const TARGET = '5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6';
const CURRENT = '0a7xqzl1m3c5v8b2n4k6j9h1g3f5d7s9-nixos-system-web-01-26.05.20260510.1a2b3c4';

const fail = <A>(p: Promise<A>): Promise<CpError> =>
  p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as CpError,
  );

describe('control-plane endpoints over mTLS', () => {
  let p: Pki;
  let srv: TlsTestServer;
  let cp: CpClient;
  const logger = memoryLogger();

  beforeAll(async () => {
    p = await pki();
    srv = await server(p);
    cp = client(p, srv, { logger });
  });
  afterAll(async () => {
    cp.close();
    await srv.close();
  });

  describe('POST /v1/agent/heartbeat', () => {
    it('sends the snake_case boot-shape body and decodes snapshots and Replay-From', async () => {
      srv.route('POST', '/v1/agent/heartbeat', (req) => ({
        status: 200,
        headers: { 'X-Nixfleet-Replay-From': '4' },
        body: {
          received_at: (req.json() as { at: string }).at,
          bootstrap_rollouts: [
            {
              rolloutId: ROLLOUT,
              hostname: 'web-01',
              channel: 'stable',
              state: 'Soaking',
              targetClosure: TARGET,
              dispatchedAt: '2026-05-17T09:59:00Z',
              soakDueAt: '2026-05-17T10:04:00+00:00',
              lastEventSeq: 4,
              unknownField: 'ignored',
            },
          ],
        },
      }));
      const answer = await firstValueFrom(cp.heartbeat({ hostname: 'web-01', currentClosure: CURRENT, at: ts('2026-05-17T10:00:00.482913174Z') }));
      const seen = srv.requests[srv.requests.length - 1];
      expect(seen?.body.toString()).toBe(`{"hostname":"web-01","current_closure":"${CURRENT}","at":"2026-05-17T10:00:00.482913174Z"}`);
      expect(seen?.headers['content-type']).toBe('application/json');
      expect(seen?.peer?.cn).toBe('web-01');
      expect(seen?.peer?.serial).toBe(nodeSerial(p.clientCert.serial));
      expect(answer).toEqual({
        receivedAt: '2026-05-17T10:00:00.482913174Z',
        replayFrom: 4,
        bootstrapRollouts: [
          {
            rolloutId: ROLLOUT,
            hostname: 'web-01',
            channel: 'stable',
            state: 'Soaking',
            targetClosure: TARGET,
            dispatchedAt: '2026-05-17T09:59:00Z',
            soakDueAt: '2026-05-17T10:04:00Z',
            lastEventSeq: 4,
          },
        ],
      });
    });

    it('omits current_closure and rollout_id when absent; sends rollout_id when given', async () => {
      srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
      await firstValueFrom(cp.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') }));
      expect(srv.requests[srv.requests.length - 1]?.body.toString()).toBe('{"hostname":"web-01","at":"2026-05-17T12:00:00Z"}');
      await firstValueFrom(cp.heartbeat({ hostname: 'web-01', rolloutId: ROLLOUT, currentClosure: TARGET, at: ts('2026-05-17T12:00:00Z') }));
      expect(srv.requests[srv.requests.length - 1]?.body.toString()).toBe(
        `{"hostname":"web-01","rollout_id":"${ROLLOUT}","current_closure":"${TARGET}","at":"2026-05-17T12:00:00Z"}`,
      );
    });

    it('reads a steady-state answer, {} and an empty 200 as no snapshots; ignores a malformed Replay-From', async () => {
      const bodies: [unknown, Record<string, string>][] = [
        [{ received_at: '2026-05-17T10:01:00.100Z' }, {}],
        [{}, { 'X-Nixfleet-Replay-From': 'soon' }],
        ['', {}],
        [{ received_at: null, bootstrap_rollouts: null }, { 'X-Nixfleet-Replay-From': '99999999999999999999' }],
      ];
      const answers = [];
      for (const [body, headers] of bodies) {
        srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, headers, body }));
        answers.push(await firstValueFrom(cp.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') })));
      }
      expect(answers).toEqual([
        { receivedAt: '2026-05-17T10:01:00.100Z', bootstrapRollouts: [] },
        { bootstrapRollouts: [] },
        { bootstrapRollouts: [] },
        { bootstrapRollouts: [] },
      ]);
    });

    it('403 on a hostname mismatch is a status error', async () => {
      srv.route('POST', '/v1/agent/heartbeat', (req) =>
        (req.json() as { hostname: string }).hostname === req.peer?.cn ? { status: 200, body: {} } : { status: 403, body: 'hostname does not match certificate CN' },
      );
      const e = await fail(firstValueFrom(cp.heartbeat({ hostname: 'db-02', at: ts('2026-05-17T12:00:00Z') })));
      expect(e).toEqual({ kind: 'status', status: 403, message: 'HTTP 403 from POST /v1/agent/heartbeat: hostname does not match certificate CN' });
    });
  });

  describe('GET /v1/agent/dispatch', () => {
    it('decodes a snake_case dispatch into the port shape', async () => {
      srv.route('GET', '/v1/agent/dispatch', () => ({
        status: 200,
        body: { hostname: 'web-01', rollout_id: ROLLOUT, target_closure: TARGET, soak_due_at: '2026-05-17T10:04:00Z', enqueued_at: '2026-05-17T09:59:00Z' },
      }));
      expect(await firstValueFrom(cp.dispatch(60))).toEqual({
        kind: 'dispatch',
        dispatch: { hostname: 'web-01', rolloutId: ROLLOUT, targetClosure: TARGET, soakDueAt: '2026-05-17T10:04:00Z', enqueuedAt: '2026-05-17T09:59:00Z' },
      });
      const seen = srv.requests[srv.requests.length - 1];
      expect(seen?.url).toBe('/v1/agent/dispatch?wait=60');
      expect(seen?.body.length).toBe(0);
      expect(seen?.headers['content-type']).toBeUndefined();
    });

    it('204, an empty 200 and a JSON null all mean no work', async () => {
      const replies = [{ status: 204 }, { status: 200, body: '' }, { status: 200, body: 'null' }, { status: 200, body: ' null\n' }];
      for (const r of replies) {
        srv.route('GET', '/v1/agent/dispatch', () => r);
        expect(await firstValueFrom(cp.dispatch(60))).toEqual({ kind: 'none' });
      }
    });

    it('clamps wait to [0, 60] like the CP', async () => {
      srv.route('GET', '/v1/agent/dispatch', () => ({ status: 204 }));
      await firstValueFrom(cp.dispatch(600));
      expect(srv.requests[srv.requests.length - 1]?.url).toBe('/v1/agent/dispatch?wait=60');
      await firstValueFrom(cp.dispatch(-3));
      expect(srv.requests[srv.requests.length - 1]?.url).toBe('/v1/agent/dispatch?wait=0');
    });

    it('holds the long-poll until the CP answers', async () => {
      let release: () => void = () => undefined;
      srv.route('GET', '/v1/agent/dispatch', () => new Promise((resolve) => (release = () => resolve({ status: 204 }))));
      let settled = false;
      const answer = firstValueFrom(cp.dispatch(60)).then((a) => {
        settled = true;
        return a;
      });
      await srv.nextRequest('/v1/agent/dispatch');
      await new Promise((r) => setImmediate(r));
      expect(settled).toBe(false);
      release();
      expect(await answer).toEqual({ kind: 'none' });
    });

    it('unsubscribing aborts the held request: the server sees the client leave', async () => {
      let aborted: Promise<void> | undefined;
      const held = new Promise<void>((reached) =>
        srv.route('GET', '/v1/agent/dispatch', (_req, ctx) => {
          aborted = ctx.aborted;
          reached();
          return new Promise(() => undefined); // never answers
        }),
      );
      const before = srv.abortedCount;
      let outcome = 'none';
      const sub = cp.dispatch(60).subscribe({ next: () => (outcome = 'next'), error: () => (outcome = 'error'), complete: () => (outcome = 'complete') });
      await held;
      sub.unsubscribe();
      expect(aborted).toBeDefined();
      await aborted;
      expect(srv.abortedCount).toBe(before + 1);
      expect(outcome).toBe('none');
    });

    it('a long-poll answered after its deadline is a transport timeout', async () => {
      const slow = client(p, srv, { longPollSlackMs: 50 });
      srv.route('GET', '/v1/agent/dispatch', () => new Promise((resolve) => setTimeout(() => resolve({ status: 204 }), 1_000)));
      const e = await fail(firstValueFrom(slow.dispatch(0)));
      expect(e).toEqual({ kind: 'transport', message: 'GET /v1/agent/dispatch?wait=0: timeout after 50 ms' });
      slow.close();
    });
  });

  describe('POST /v1/agent/events', () => {
    const envelope = JSON.stringify({
      hostname: 'web-01',
      rolloutId: ROLLOUT,
      event: { kind: 'DispatchAck', currentClosureAtDispatch: TARGET, receivedAt: '2026-05-17T09:59:00Z', seq: 1 },
    });

    it('sends the stored envelope byte for byte; 204 is acked', async () => {
      srv.route('POST', '/v1/agent/events', () => ({ status: 204 }));
      expect(await firstValueFrom(cp.postEvent(envelope))).toEqual({ kind: 'acked' });
      const seen = srv.requests[srv.requests.length - 1];
      expect(seen?.body.toString()).toBe(envelope);
      expect(seen?.headers['content-type']).toBe('application/json');
    });

    // Classified here, once: the drainer only acts on the kind.
    it.each([
      [200, 'acked'],
      [204, 'acked'],
      [299, 'acked'],
      [400, 'poison'],
      [409, 'poison'],
      [410, 'poison'],
      [413, 'poison'],
      [415, 'poison'],
      [422, 'poison'],
      [401, 'retry'],
      [403, 'retry'],
      [404, 'retry'],
      [408, 'retry'],
      [429, 'retry'],
      [500, 'retry'],
      [503, 'retry'],
      [302, 'retry'],
    ])('HTTP %i → %s', async (status, kind) => {
      srv.route('POST', '/v1/agent/events', () => ({ status, body: status === 204 ? undefined : 'why' }));
      const outcome = await firstValueFrom(cp.postEvent(envelope));
      expect(outcome).toEqual(kind === 'acked' ? { kind } : { kind, status, reason: `HTTP ${status}: why` });
    });

    it('never errors: a refused connection is a retry', async () => {
      const dead = client(p, { ...srv, url: 'https://127.0.0.1:1' } as TlsTestServer);
      const outcome = await firstValueFrom(dead.postEvent(envelope));
      expect(outcome.kind).toBe('retry');
      expect(outcome.kind === 'retry' && outcome.reason).toMatch(/^transport: POST \/v1\/agent\/events: .*ECONNREFUSED/);
      dead.close();
    });
  });

  describe('signed artifacts and their /sig twins', () => {
    const fleetBytes = Buffer.from('{"schemaVersion":1, "meta":{}}');
    const sig = Buffer.alloc(64, 7);

    it('fetches fleet.resolved then its signature, bytes untouched', async () => {
      srv.route('GET', '/v1/fleet.resolved', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: fleetBytes }));
      srv.route('GET', '/v1/fleet.resolved/sig', () => ({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: sig }));
      const start = srv.requests.length;
      const pair = await firstValueFrom(cp.artifacts.fleet());
      expect(Buffer.from(pair.artifact).equals(fleetBytes)).toBe(true);
      expect(Buffer.from(pair.signature).equals(sig)).toBe(true);
      expect(srv.requests.slice(start).map((r) => r.path)).toEqual(['/v1/fleet.resolved', '/v1/fleet.resolved/sig']);
    });

    it('fetches a rollout manifest by id with `@` kept literal in the path', async () => {
      srv.route('GET', `/v1/rollouts/${ROLLOUT}`, () => ({ status: 200, body: Buffer.from('{"m":1}') }));
      srv.route('GET', `/v1/rollouts/${ROLLOUT}/sig`, () => ({ status: 200, body: sig }));
      const start = srv.requests.length;
      const pair = await firstValueFrom(cp.artifacts.rollout(ROLLOUT));
      expect(Buffer.from(pair.artifact).toString()).toBe('{"m":1}');
      expect(srv.requests.slice(start).map((r) => r.url)).toEqual([`/v1/rollouts/${ROLLOUT}`, `/v1/rollouts/${ROLLOUT}/sig`]);
    });

    it('404 on the manifest or 500 on its signature is a status error (the cache treats it as missing)', async () => {
      const e404 = await fail(firstValueFrom(cp.artifacts.rollout('stable@ffff')));
      expect(e404).toMatchObject({ kind: 'status', status: 404 });
      srv.route('GET', '/v1/rollouts/stable@abcd', () => ({ status: 200, body: '{}' }));
      srv.route('GET', '/v1/rollouts/stable@abcd/sig', () => ({ status: 500, body: 'signature missing' }));
      const e500 = await fail(firstValueFrom(cp.artifacts.rollout('stable@abcd')));
      expect(e500).toEqual({ kind: 'status', status: 500, message: 'HTTP 500 from GET /v1/rollouts/stable@abcd/sig: signature missing' });
    });
  });

  describe('status codes every endpoint shares', () => {
    it('503 not-ready carries Retry-After (delta seconds)', async () => {
      srv.route('POST', '/v1/agent/heartbeat', () => ({
        status: 503,
        headers: { 'Retry-After': '30' },
        body: { error: 'control plane not ready', reason: 'awaiting first signed artifact' },
      }));
      const e = await fail(firstValueFrom(cp.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') })));
      expect(e).toEqual({
        kind: 'status',
        status: 503,
        retryAfterSecs: 30,
        message: 'HTTP 503 from POST /v1/agent/heartbeat: {"error":"control plane not ready","reason":"awaiting first signed artifact"}',
      });
    });

    it('503 with an empty body and no Retry-After (CP queue full) is a plain status error', async () => {
      srv.route('GET', '/v1/agent/dispatch', () => ({ status: 503 }));
      expect(await fail(firstValueFrom(cp.dispatch(60)))).toEqual({ kind: 'status', status: 503, message: 'HTTP 503 from GET /v1/agent/dispatch: (empty body)' });
    });

    it('426 when the CP speaks another protocol major is a status error', async () => {
      srv.route('GET', '/v1/agent/dispatch', () => ({ status: 426, body: { error: 'protocol version 1 not supported; server speaks 2' } }));
      expect(await fail(firstValueFrom(cp.dispatch(1)))).toEqual({
        kind: 'status',
        status: 426,
        message: 'HTTP 426 from GET /v1/agent/dispatch: {"error":"protocol version 1 not supported; server speaks 2"}',
      });
    });

    it('401 without a client certificate on an mTLS route', async () => {
      const anon = client(p, srv, { tls: { ca: p.ca.certPem } });
      srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
      const e = await fail(firstValueFrom(anon.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') })));
      expect(e).toMatchObject({ kind: 'status', status: 401 });
      anon.close();
    });

    it('sends x-nixfleet-protocol: 1 on every request (upstream omits it on runtime routes)', async () => {
      const paths = new Set(srv.requests.map((r) => `${r.method} ${r.path.startsWith('/v1/rollouts/') ? '/v1/rollouts/*' : r.path}`));
      expect([...paths].sort()).toEqual(
        expect.arrayContaining(['GET /v1/agent/dispatch', 'GET /v1/fleet.resolved', 'GET /v1/fleet.resolved/sig', 'GET /v1/rollouts/*', 'POST /v1/agent/events', 'POST /v1/agent/heartbeat']),
      );
      expect(srv.requests.every((r) => r.headers['x-nixfleet-protocol'] === '1')).toBe(true);
    });
  });

  it('every call is cold: nothing is sent before subscribe, each subscribe sends once', async () => {
    srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    const before = srv.requests.length;
    const call = cp.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') });
    await new Promise((r) => setTimeout(r, 20));
    expect(srv.requests.length).toBe(before);
    await lastValueFrom(call.pipe(toArray()));
    await lastValueFrom(call.pipe(toArray()));
    expect(srv.requests.length).toBe(before + 2);
  });
});

describe('describeCpError', () => {
  it('does not repeat a status the message already names', () => {
    expect(describeCpError({ kind: 'status', status: 401, message: 'HTTP 401 from GET /v1/agent/dispatch: no client certificate' })).toBe('HTTP 401 from GET /v1/agent/dispatch: no client certificate');
    expect(describeCpError({ kind: 'status', status: 409, message: 'token already used' })).toBe('HTTP 409: token already used');
    expect(describeCpError({ kind: 'transport', message: 'ECONNREFUSED' })).toBe('transport: ECONNREFUSED');
  });
});

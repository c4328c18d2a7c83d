// `GET /v1/agent/dispatch` long-poll with the agent's client over loopback
// mTLS. The dev CP's timers run on a VirtualTimeScheduler, so "the wait
// elapses" and "the planner re-offers after 15 s" are steps of virtual
// time, never real waiting.
import { firstValueFrom, VirtualTimeScheduler } from 'rxjs';
import { encodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope } from '../../src/codecs/events';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { DevCp } from '../../src/devcp/dev-cp';
import type { CpClient } from '../../src/io/http/client';
import type { DispatchAnswer } from '../../src/ports/control-plane';
import { CLOSURE_A, CLOSURE_B, CLOSURE_DB, enrolled, keys, raw, startCp, until, type Keys } from './support';
import * as fs from 'node:fs';

describe('dev CP dispatch long-poll', () => {
  let k: Keys;
  let vts: VirtualTimeScheduler;
  let cp: DevCp;
  let web: CpClient;
  let db: CpClient;
  let webTls: { cert: string; key: string };
  const base = Date.now();
  const now = () => fromEpochMillis(base + vts.now());

  /** Run the CP's timers due within `ms` of virtual time, then stand at that time. */
  const advance = (ms: number): void => {
    const target = vts.frame + ms;
    vts.maxFrames = target;
    vts.flush();
    vts.frame = target;
  };

  beforeAll(async () => {
    k = await keys();
    vts = new VirtualTimeScheduler();
    cp = await startCp(k, { scheduler: vts, now });
    const w = await enrolled(cp, k.web, 'web-01');
    web = w.client;
    webTls = { cert: fs.readFileSync(w.files.cert, 'utf8'), key: k.web.pkcs8Pem };
    db = (await enrolled(cp, k.db, 'db-01')).client;
  });
  afterAll(async () => {
    web.close();
    db.close();
    await cp.close();
  });

  /** A poll in flight, and whether it has answered yet. */
  function poll(client: CpClient, wait: number): { answer: Promise<DispatchAnswer>; settled: () => boolean } {
    let done = false;
    const answer = firstValueFrom(client.dispatch(wait)).finally(() => {
      done = true;
    });
    return { answer, settled: () => done };
  }

  const parked = (n: number) => until(() => cp.stats().parkedPolls === n, `${n} parked long-polls`);

  it('delivers a queued dispatch at once, once; the planner re-offers it every 15 s until the DispatchAck', async () => {
    const r = cp.release({ closures: { 'web-01': CLOSURE_B, 'db-01': CLOSURE_DB }, policy: 'halt', soakMinutes: 2 });
    const first = await firstValueFrom(web.dispatch(60));
    expect(first).toEqual({
      kind: 'dispatch',
      dispatch: { hostname: 'web-01', rolloutId: r.rolloutId, targetClosure: CLOSURE_B, soakDueAt: r.soakDueAt, enqueuedAt: now() },
    });
    expect(await firstValueFrom(web.dispatch(0))).toEqual({ kind: 'none' });

    advance(15_000); // planner tick
    const again = await firstValueFrom(web.dispatch(0));
    expect(again).toMatchObject({ kind: 'dispatch', dispatch: { rolloutId: r.rolloutId, enqueuedAt: now() } });

    const ack = encodeJson(AgentEventEnvelope, { hostname: 'web-01', rolloutId: r.rolloutId, event: { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_B, receivedAt: now(), seq: 1 } });
    expect(await firstValueFrom(web.postEvent(ack))).toEqual({ kind: 'acked' });
    advance(15_000);
    expect(await firstValueFrom(web.dispatch(0))).toEqual({ kind: 'none' });
    // db-01's own dispatch is still there: the host comes from the certificate only.
    expect(await firstValueFrom(db.dispatch(0))).toMatchObject({ kind: 'dispatch', dispatch: { hostname: 'db-01', targetClosure: CLOSURE_DB } });
  });

  it('holds a poll until a dispatch for its host is queued, then answers it at once', async () => {
    const web$ = poll(web, 60);
    const db$ = poll(db, 60);
    await parked(2);
    const frame = vts.frame;
    expect(web$.settled()).toBe(false);
    const r = cp.release({ closures: { 'web-01': CLOSURE_A }, policy: 'halt', soakMinutes: 1 });
    // The channel's hosts are all in the new rollout: both polls are answered.
    expect(await web$.answer).toMatchObject({ kind: 'dispatch', dispatch: { hostname: 'web-01', rolloutId: r.rolloutId, targetClosure: CLOSURE_A } });
    expect(await db$.answer).toMatchObject({ kind: 'dispatch', dispatch: { hostname: 'db-01', rolloutId: r.rolloutId, targetClosure: CLOSURE_DB } });
    expect(vts.frame).toBe(frame);
    expect(cp.stats().parkedPolls).toBe(0);
    // Acknowledged: nothing is owed any more.
    for (const [client, hostname] of [[web, 'web-01'], [db, 'db-01']] as const) {
      const ack = encodeJson(AgentEventEnvelope, { hostname, rolloutId: r.rolloutId, event: { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: now(), seq: 1 } });
      expect(await firstValueFrom(client.postEvent(ack))).toEqual({ kind: 'acked' });
    }
    expect(cp.replan()).toBe(0);
  });

  it('answers 204 with an empty body when the wait elapses, and clamps the wait to 60 s', async () => {
    const p = poll(web, 5);
    await parked(1);
    advance(4_999);
    expect(p.settled()).toBe(false);
    advance(1);
    expect(await p.answer).toEqual({ kind: 'none' });

    const long = raw(cp, { path: '/v1/agent/dispatch?wait=600', ...webTls });
    await parked(1);
    advance(60_000);
    const res = await long;
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect((await raw(cp, { path: '/v1/agent/dispatch?wait=soon', ...webTls })).status).toBe(400);
    expect((await raw(cp, { path: '/v1/agent/dispatch?wait=-1', ...webTls })).status).toBe(400);
  });

  it('forgets a poll whose client went away', async () => {
    const sub = web.dispatch(60).subscribe();
    await parked(1);
    sub.unsubscribe();
    await parked(0);
  });

  it('refuses polls beyond its capacity (503) and answers parked polls with 503 when it closes', async () => {
    const small = await startCp(k, { maxParkedPolls: 1 });
    const w = await enrolled(small, k.web, 'web-01');
    try {
      const p = poll(w.client, 60);
      await until(() => small.stats().parkedPolls === 1, 'a parked poll');
      await expect(firstValueFrom(w.client.dispatch(60))).rejects.toMatchObject({ kind: 'status', status: 503 });
      await small.close();
      await expect(p.answer).rejects.toBeDefined();
    } finally {
      w.client.close();
      await small.close();
    }
  });
});

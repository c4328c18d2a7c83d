// Redirects from the CP (docs/wire.md "Redirects"): followed within its
// origin, a POST only by 307/308 (method and body kept), at most 10 hops;
// another origin or a POST turned into a GET is a transport error naming both.
import { firstValueFrom } from 'rxjs';
import { MAX_REDIRECTS } from '../../../src/io/http/transport';
import { beat, client, failure, pki, server, type Pki } from './support';

const moved = (status: number, location: string) => () => ({ status, headers: { location } });

describe('redirects from the control plane', () => {
  let p: Pki;
  beforeAll(async () => {
    p = await pki();
  });

  it('a 307 on a POST is followed within the origin with its method, body and client certificate', async () => {
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', moved(307, '/v2/heartbeat'));
    srv.route('POST', '/v2/heartbeat', () => ({ status: 200, body: { received_at: '2026-05-17T12:00:01Z' } }));
    const c = client(p, srv);
    expect(await firstValueFrom(c.heartbeat(beat))).toMatchObject({ receivedAt: '2026-05-17T12:00:01Z' });
    expect(srv.requests.map((r) => [r.method, r.path, r.peer?.cn])).toEqual([
      ['POST', '/v1/agent/heartbeat', 'web-01'],
      ['POST', '/v2/heartbeat', 'web-01'],
    ]);
    expect(srv.requests[1]?.json()).toEqual(srv.requests[0]?.json());
    c.close();
    await srv.close();
  });

  it('a 308 and a 301 on a GET are followed (absolute Location, same origin)', async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', moved(308, `${srv.url}/moved/dispatch?wait=0`));
    srv.route('GET', '/moved/dispatch', moved(301, '/final/dispatch'));
    srv.route('GET', '/final/dispatch', () => ({ status: 204 }));
    const c = client(p, srv);
    expect(await firstValueFrom(c.dispatch(0))).toEqual({ kind: 'none' });
    expect(srv.requests.map((r) => r.path)).toEqual(['/v1/agent/dispatch', '/moved/dispatch', '/final/dispatch']);
    c.close();
    await srv.close();
  });

  it.each([301, 302, 303])('a %i on a POST is not followed: it would silently become a GET', async (status) => {
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', moved(status, '/elsewhere'));
    const c = client(p, srv);
    const e = await failure(firstValueFrom(c.heartbeat(beat)));
    expect(e).toEqual({ kind: 'transport', message: `POST /v1/agent/heartbeat: redirect (${status}) of a POST not followed: it would be re-sent as a GET without its body` });
    expect(srv.requests).toHaveLength(1);
    c.close();
    await srv.close();
  });

  it('a redirect to another origin is not followed, even to a server the CA vouches for', async () => {
    const srv = await server(p);
    const other = await server(p);
    other.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body: {} }));
    srv.route('POST', '/v1/agent/heartbeat', moved(307, `${other.url}/v1/agent/heartbeat`));
    const c = client(p, srv);
    const e = await failure(firstValueFrom(c.heartbeat(beat)));
    expect(e).toEqual({ kind: 'transport', message: `POST /v1/agent/heartbeat: redirect (307) to another origin not followed: ${srv.url} -> ${other.url}` });
    expect(other.requests).toHaveLength(0);
    c.close();
    await srv.close();
    await other.close();
  });

  it(`gives up after ${MAX_REDIRECTS} hops`, async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', moved(302, '/v1/agent/dispatch?wait=0'));
    const c = client(p, srv);
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e).toEqual({ kind: 'transport', message: `GET /v1/agent/dispatch?wait=0: more than ${MAX_REDIRECTS} redirects` });
    expect(srv.requests).toHaveLength(MAX_REDIRECTS + 1);
    c.close();
    await srv.close();
  });

  it('a 3xx without a Location is the answer (a status error, as before)', async () => {
    const srv = await server(p);
    srv.route('GET', '/v1/agent/dispatch', () => ({ status: 302 }));
    const c = client(p, srv);
    const e = await failure(firstValueFrom(c.dispatch(0)));
    expect(e).toMatchObject({ kind: 'status', status: 302 });
    c.close();
    await srv.close();
  });
});

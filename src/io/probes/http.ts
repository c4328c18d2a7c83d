// HTTP probe (reference §10.3): `GET url` with a total budget of
// `timeoutSecs`; passes iff the status equals `expectStatus` and, when
// `bodyContains` is declared, the body contains it. The proxy variables are
// honoured as upstream's probe client (reqwest) honours them, with the CP
// client's rules (src/io/http/proxy-env.ts): https through a CONNECT tunnel,
// http forwarded; NO_PROXY must list the host's own services (loopback is not
// exempt, as in reqwest).
//
// Redirects: upstream (reqwest's default) follows 10 hops to any host, so a
// probed service could make the agent, running as root, GET any URL it
// names (`/admin/delete?x=1` on an internal host) and count the answer as
// health. Here a redirect is followed only within the probed origin (same
// scheme, host and port, as the URL standard compares them), at most
// MAX_REDIRECTS hops (path moves such as `/health` → `/health/` need one
// or two). A redirect to another origin is not fetched: the probe fails,
// naming both origins. A 3xx without a usable Location is the final answer.
import type * as https from 'node:https';
import * as tls from 'node:tls';
import type { Readable } from 'node:stream';
import { firstValueFrom, of, timeout, type Observable } from 'rxjs';
import type * as Axios from 'axios';
import type { ProbeEntry } from '../../codecs/health-checks';
import { errorMessage } from '../../ports/error-text';
import { proxyFor, type ProxyEndpoint } from '../http/proxy-env';
import { TunnelingAgent } from '../http/proxy-tunnel';
import type { ProbeRunResult } from '../../ports/probes';
import { axios } from '../axios-lazy';
import { fromWork } from '../from-work';
import type { ProbeConfig } from './config';
import { readBounded } from './read-bounded';
import { fail, pass } from './reason';

export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Scheme, host and port (default ports elided by URL); `URL.origin` is "null" for unusual schemes, which would all compare equal. */
const originOf = (u: URL): string => `${u.protocol}//${u.host}`;

/** An agent for the probe's TLS options and its https proxy; undefined when Node's default does. */
async function tlsAgent(entry: ProbeEntry, proxy: ProxyEndpoint | undefined): Promise<https.Agent | undefined> {
  if (entry.tlsCaFile === undefined && !entry.tlsSkipVerify) return proxy === undefined ? undefined : new TunnelingAgent({ keepAlive: false }, proxy);
  const extra = entry.tlsCaFile === undefined ? [] : [(await firstValueFrom(readBounded(entry.tlsCaFile, 1024 * 1024))).toString('utf8')];
  // `ca` replaces Node's roots, so keep them beside the declared CA.
  return new TunnelingAgent({ ca: [...tls.rootCertificates, ...extra], rejectUnauthorized: !entry.tlsSkipVerify, keepAlive: false }, proxy);
}

/** axios's options for a plain-http proxy (absolute-form requests); https goes through the agent's tunnel. */
function forwardProxy(proxy: ProxyEndpoint | undefined, url: URL): Partial<Axios.AxiosRequestConfig> {
  if (proxy === undefined || url.protocol !== 'http:') return { proxy: false };
  return {
    proxy: { protocol: 'http', host: proxy.host, port: proxy.port },
    ...(proxy.authorization === undefined ? {} : { headers: { 'proxy-authorization': proxy.authorization } }),
  };
}

/** Reads up to `max` bytes; true as soon as `needle` is seen. */
async function bodyContains(stream: Readable, needle: string, max: number): Promise<boolean> {
  const want = Buffer.from(needle, 'utf8');
  let seen = Buffer.alloc(0);
  for await (const chunk of stream) {
    seen = Buffer.concat([seen, chunk as Buffer]).subarray(0, max);
    if (seen.includes(want)) return true;
    if (seen.length >= max) return false;
  }
  return false;
}

export function runHttp(entry: ProbeEntry, cfg: ProbeConfig): Observable<ProbeRunResult> {
  const url = entry.url;
  if (url === undefined) return of(fail('http probe: url missing'));
  const secs = entry.timeoutSecs;
  return fromWork((signal) => probeOnce(entry, url, cfg, signal).catch((err: unknown) => fail(`http probe: ${errorMessage(err)}`))).pipe(
    timeout({ first: secs * 1000, scheduler: cfg.scheduler, with: () => of(fail(`http probe: timed out after ${secs}s`)) }),
  );
}

/** One probe, redirects included; the agent and the body stream are destroyed when it ends or is aborted. */
async function probeOnce(entry: ProbeEntry, url: string, cfg: ProbeConfig, signal: AbortSignal): Promise<ProbeRunResult> {
  let agent: https.Agent | undefined;
  let body: Readable | undefined;
  const release = (): void => {
    body?.destroy();
    agent?.destroy();
  };
  signal.addEventListener('abort', release, { once: true });
  try {
    let status: number;
    let current: URL;
    try {
      current = new URL(url);
    } catch (err) {
      return fail(`http probe: send: ${errorMessage(err)}`);
    }
    // Redirects stay within the origin, so one decision holds for every hop.
    const proxy = proxyFor(cfg.proxy, current);
    try {
      agent = await tlsAgent(entry, current.protocol === 'https:' ? proxy : undefined);
    } catch (err) {
      return fail(`http probe: tls options: ${errorMessage(err)}`);
    }
    for (let hops = 0; ; hops++) {
      let location: unknown;
      try {
        const resp = await axios().request<Readable>({
          method: 'get',
          url: current.href,
          responseType: 'stream',
          validateStatus: () => true,
          maxRedirects: 0, // followed below, within the origin only
          ...forwardProxy(proxy, current),
          signal,
          ...(agent === undefined ? {} : { httpsAgent: agent }),
        });
        status = resp.status;
        body = resp.data;
        location = REDIRECT_STATUSES.has(status) ? resp.headers['location'] : undefined;
      } catch (err) {
        // A forward proxy's own failure says so (a tunnel's ProxyError names it already).
        const via = proxy !== undefined && current.protocol === 'http:' ? `proxy ${proxy.display} (${proxy.variable}): ` : '';
        return fail(`http probe: send: ${via}${errorMessage(err)}`);
      }
      if (typeof location !== 'string' || location === '') break;
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        break; // an unreadable Location: the 3xx is the answer, as reqwest returns it
      }
      body.destroy();
      body = undefined;
      if (originOf(next) !== originOf(current)) {
        return fail(`http probe: redirect (${status}) to another origin not followed: ${originOf(current)} -> ${originOf(next)}`);
      }
      if (hops >= MAX_REDIRECTS) return fail(`http probe: more than ${MAX_REDIRECTS} redirects`);
      current = next;
    }
    if (body === undefined) return fail('http probe: no response'); // not reached: the loop leaves with a body
    if (status !== entry.expectStatus) return fail(`http probe: status ${status} != expected ${entry.expectStatus}`);
    if (entry.bodyContains === undefined) return pass();
    try {
      if (await bodyContains(body, entry.bodyContains, cfg.maxHttpBodyBytes)) return pass();
    } catch (err) {
      return fail(`http probe: reading body: ${errorMessage(err)}`);
    }
    return fail(`http probe: body does not contain ${JSON.stringify(entry.bodyContains)} (searched up to ${cfg.maxHttpBodyBytes} bytes)`);
  } finally {
    signal.removeEventListener('abort', release);
    release();
  }
}

// Fuzz-style: malformed, truncated, oversized and wrong-type bodies fed to
// every response decoder. Each yields a typed CpError (or a valid value),
// never an exception; through the client each failure also logs one line.
import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { firstValueFrom, type Observable } from 'rxjs';
import { artifactBytes, deliveryOutcome, dispatchAnswer, heartbeatAnswer, issuedCert, parseRetryAfter, statusError } from '../../../src/io/http/decode';
import type { HttpResponse } from '../../../src/io/http/transport';
import { isCpError, type CpError } from '../../../src/ports/control-plane';
import { ts } from '../../support/decode';
import { client, memoryLogger, pki, server } from './support';

const res = (status: number, body: Uint8Array | string, headers: Record<string, string> = {}, bodyTooLarge = false): HttpResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? new Uint8Array(Buffer.from(body)) : body,
  bodyTooLarge,
});

const DISPATCH = '{"hostname":"web-01","rollout_id":"stable@3f9c","target_closure":"5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos","soak_due_at":"2026-05-17T10:04:00Z","enqueued_at":"2026-05-17T09:59:00Z"}';
const HEARTBEAT =
  '{"received_at":"2026-05-17T10:00:00Z","bootstrap_rollouts":[{"rolloutId":"stable@3f9c","hostname":"web-01","channel":"stable","state":"Soaking","targetClosure":"5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos","dispatchedAt":"2026-05-17T09:59:00Z","lastEventSeq":4}]}';
const ISSUED = '{"certPem":"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n","notAfter":"2026-06-16T09:00:05Z"}';

type Decoder = (r: HttpResponse) => E.Either<CpError, unknown>;
const decoders: [string, Decoder, string][] = [
  ['dispatch', (r) => dispatchAnswer(r, 0), DISPATCH],
  ['heartbeat', (r) => heartbeatAnswer(r, 0), HEARTBEAT],
  ['enroll/renew', (r) => issuedCert(r, 'enroll https://cp/v1/enroll', 0), ISSUED],
];

const typedOrValue = (r: E.Either<CpError, unknown>): boolean => E.isRight(r) || (isCpError(r.left) && typeof r.left.message === 'string');

// Values of the wrong JSON type at every field, including prototype-ish keys.
const hostileJson = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.constantFrom('hostname', 'rollout_id', 'target_closure', 'soak_due_at', 'enqueued_at', 'received_at', 'bootstrap_rollouts', 'certPem', 'notAfter', '__proto__', 'constructor'), fc.jsonValue()),
);

describe.each(decoders)('%s decoder', (_name, decode, valid) => {
  it('accepts the valid body', () => {
    expect(E.isRight(decode(res(200, valid)))).toBe(true);
  });

  it('every truncation of a valid body is a typed error (or, for an empty body, the documented "nothing")', () => {
    for (let cut = 0; cut < valid.length; cut++) {
      const r = decode(res(200, valid.slice(0, cut)));
      if (cut === 0 && _name !== 'enroll/renew') expect(E.isRight(r)).toBe(true);
      else expect(E.isLeft(r) && r.left.kind === 'decode').toBe(true);
    }
  });

  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 100, max: 599 }), (bytes, status) => {
        expect(typedOrValue(decode(res(status, bytes)))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('wrong-type JSON is a decode error naming the path', () => {
    fc.assert(
      fc.property(hostileJson, (value) => {
        const r = decode(res(200, JSON.stringify(value)));
        expect(typedOrValue(r)).toBe(true);
        if (E.isLeft(r)) expect(r.left.kind).toBe('decode');
      }),
      { numRuns: 400 },
    );
    const r = decode(res(200, valid.replace(/"2026-0[56]-\d\dT[^"]+"/, '17')));
    expect(E.isLeft(r) && r.left.message).toMatch(/\$\.\w+(\[0\]\.\w+)?: expected an RFC 3339 timestamp string/);
  });

  it('an oversized body is a decode error even when its prefix parses', () => {
    const r = decode(res(200, valid, {}, true));
    expect(E.isLeft(r) && r.left).toEqual({ kind: 'decode', message: expect.stringMatching(/body larger than \d+ bytes$/) });
  });

  it('any non-2xx is a status error carrying a bounded excerpt of the body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 599 }), fc.string({ maxLength: 2000 }), (status, body) => {
        const r = decode(res(status, body));
        expect(E.isLeft(r) && r.left.kind).toBe('status');
        if (E.isLeft(r) && r.left.kind === 'status') {
          expect(r.left.status).toBe(status);
          expect(r.left.message.length).toBeLessThan(700);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('other decoders', () => {
  it('artifact bytes pass through untouched on 2xx, any other status or an oversize is an error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 100, max: 599 }), fc.boolean(), (bytes, status, big) => {
        const r = artifactBytes(res(status, bytes, {}, big), '/v1/fleet.resolved', 0);
        if (status >= 200 && status < 300 && !big) expect(E.isRight(r) && Buffer.from(r.right).equals(Buffer.from(bytes))).toBe(true);
        else expect(E.isLeft(r)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('event delivery is decided by the status alone, whatever the body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 100, max: 599 }), fc.boolean(), (bytes, status, big) => {
        const o = deliveryOutcome(res(status, bytes, {}, big));
        const expected = status >= 200 && status < 300 ? 'acked' : [400, 409, 410, 413, 415, 422].includes(status) ? 'poison' : 'retry';
        expect(o.kind).toBe(expected);
        if (o.kind !== 'acked') expect(o.status).toBe(status);
      }),
      { numRuns: 300 },
    );
  });

  it('Retry-After: delta seconds, HTTP-date, garbage ignored; only on 503 and 429', () => {
    const now = Date.parse('2026-05-17T10:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 17 May 2026 10:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Sun, 17 May 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('2026', now)).toBe(2026);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(statusError(res(503, '', { 'retry-after': '30' }), 'x', now)).toMatchObject({ retryAfterSecs: 30 });
    expect(statusError(res(429, '', { 'retry-after': '7' }), 'x', now)).toMatchObject({ retryAfterSecs: 7 });
    expect(statusError(res(500, '', { 'retry-after': '30' }), 'x', now)).not.toHaveProperty('retryAfterSecs');
    fc.assert(fc.property(fc.string(), (s) => void parseRetryAfter(s, now)));
  });
});

describe('through the client against a real server: typed error and one log line per bad body', () => {
  it('malformed, truncated and wrong-type answers on every JSON endpoint', async () => {
    const p = await pki();
    const srv = await server(p);
    const logger = memoryLogger();
    const c = client(p, srv, { logger });
    const samples = fc.sample(hostileJson.map((v) => JSON.stringify(v)), { numRuns: 15, seed: 7 }).concat(['{', '{"hostname":', '[1,2', '"str"', '42', 'true']);
    let failures = 0;
    for (const body of samples) {
      srv.route('GET', '/v1/agent/dispatch', () => ({ status: 200, body }));
      srv.route('POST', '/v1/agent/heartbeat', () => ({ status: 200, body }));
      srv.route('POST', '/v1/agent/renew', () => ({ status: 200, body }));
      const calls: Observable<unknown>[] = [c.dispatch(0), c.heartbeat({ hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') }), c.renew('csr')];
      for (const call of calls) {
        const outcome = await firstValueFrom(call).then(
          () => 'value',
          (e: unknown) => (isCpError(e) ? e.kind : 'untyped'),
        );
        expect(['value', 'decode']).toContain(outcome);
        if (outcome === 'decode') failures += 1;
      }
    }
    expect(failures).toBeGreaterThan(40);
    expect(logger.lines).toHaveLength(failures);
    expect(logger.lines.every((l) => l.level === 'warn' && l.message === 'control plane answer did not decode' && typeof l.fields?.['reason'] === 'string')).toBe(true);
    c.close();
    await srv.close();
  });
});

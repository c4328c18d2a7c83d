// Fuzzing every codec and every response decoder: arbitrary values, arbitrary
// JSON, and byte-level mutations of valid messages. Zero exceptions allowed;
// a Left must carry at least one path-and-reason issue. `npm test` runs
// FUZZ_RUNS (default 1,000) inputs per target; `npm run fuzz` runs 100,000.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import type * as t from 'io-ts';
import { decodeJson, decodeWith } from '../../src/codecs/decode';
import { Effect } from '../../src/codecs/effects';
import { AgentEvent, AgentEventEnvelope, Event } from '../../src/codecs/events';
import { HealthChecks } from '../../src/codecs/health-checks';
import { HostRolloutSnapshot, HostRolloutState } from '../../src/codecs/host-state';
import { FleetResolved, Revocations, RolloutManifest } from '../../src/codecs/artifacts';
import { RolloutPolicy } from '../../src/codecs/policy';
import { TimestampCodec } from '../../src/codecs/timestamp';
import { parseTrustConfig } from '../../src/codecs/trust-config';
import { BootstrapToken, DispatchWire, HeartbeatResponseWire, IssuedCert } from '../../src/codecs/wire';
import { artifactBytes, deliveryOutcome, dispatchAnswer, heartbeatAnswer, issuedCert } from '../../src/io/http/decode';
import type { HttpResponse } from '../../src/io/http/transport';
import { canonicalizeText } from '../../src/trust';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1000);
const params = { numRuns: RUNS };
jest.setTimeout(Math.max(60_000, RUNS * 5));

const CODECS: [string, t.Mixed][] = [
  ['AgentEvent', AgentEvent],
  ['AgentEventEnvelope', AgentEventEnvelope],
  ['Event', Event],
  ['Effect', Effect],
  ['HostRolloutState', HostRolloutState],
  ['HostRolloutSnapshot', HostRolloutSnapshot],
  ['RolloutPolicy', RolloutPolicy],
  ['Timestamp', TimestampCodec],
  ['HealthChecks', HealthChecks],
  ['FleetResolved', FleetResolved],
  ['RolloutManifest', RolloutManifest],
  ['Revocations', Revocations],
  ['DispatchWire', DispatchWire],
  ['HeartbeatResponseWire', HeartbeatResponseWire],
  ['IssuedCert', IssuedCert],
  ['BootstrapToken', BootstrapToken],
];

const SAMPLES = [
  '{"hostname":"web-01","rolloutId":"stable@abc","event":{"kind":"ProbeResult","probeName":"p","mode":"enforce","status":"fail","observedAt":"2026-05-17T12:00:00.123456789Z","failureReason":"x","subResults":[{"controlId":"c","status":"pass","framework":"f","effectiveMode":"observe"}],"seq":7}}',
  '{"hostname":"web-01","rollout_id":"stable@abc","target_closure":"abc-nixos","soak_due_at":"2026-05-17T12:05:00Z","enqueued_at":"2026-05-17T12:00:00Z"}',
  '{"received_at":"2026-05-17T12:00:00Z","bootstrap_rollouts":[{"rolloutId":"r","hostname":"h","channel":"c","state":"Soaking","targetClosure":"t","dispatchedAt":"2026-05-17T12:00:00Z","lastEventSeq":3}]}',
  '{"schemaVersion":1,"ciReleaseKey":{"current":{"algorithm":"ed25519","public":"XGEGLc7caQGxOHt9EcWsRyhKk2fj6v5OVdDd+BFO8KY="},"previous":null,"rejectBefore":null},"cacheKeys":[],"orgRootKey":null}',
];

/** A valid message with a few bytes replaced, inserted or cut. */
const mutated = fc
  .tuple(fc.constantFrom(...SAMPLES), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 4 }))
  .map(([text, edits]) => edits.reduce((s, [at, cut, insert]) => s.slice(0, at % (s.length + 1)) + insert + s.slice((at % (s.length + 1)) + cut), text));

const anyInput = fc.oneof(fc.anything(), fc.jsonValue(), mutated.map((s) => ({ __text: s })));

const response = fc.record({
  status: fc.oneof(fc.constantFrom(200, 204, 400, 401, 403, 404, 409, 426, 429, 500, 503), fc.integer({ min: 100, max: 599 })),
  headers: fc.dictionary(fc.constantFrom('content-type', 'retry-after', 'x-nixfleet-replay-from', 'x-other'), fc.string({ maxLength: 24 })),
  body: fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated.map((s) => new TextEncoder().encode(s)), fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v) ?? ''))),
  bodyTooLarge: fc.boolean(),
}) as fc.Arbitrary<HttpResponse>;

describe(`fuzzing (${RUNS} inputs per target)`, () => {
  it.each(CODECS)('%s: any value or text decodes to a typed value or a Left with issues', (_name, codec) => {
    fc.assert(
      fc.property(anyInput, (u) => {
        const r = typeof u === 'object' && u !== null && '__text' in u ? decodeJson(codec, String((u as { __text: string }).__text)) : decodeWith(codec, u);
        if (E.isLeft(r)) expect(r.left.issues.length).toBeGreaterThan(0);
      }),
      params,
    );
  });

  it('trust.json parser', () => {
    fc.assert(fc.property(mutated, (text) => void parseTrustConfig(text)), params);
  });

  it('JCS canonicalization of arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(mutated, fc.string()), (text) => void canonicalizeText(text)), params);
  });

  it('response decoders: dispatch, heartbeat, events, enroll/renew, artifacts', () => {
    fc.assert(
      fc.property(response, (res) => {
        for (const r of [dispatchAnswer(res, 0), heartbeatAnswer(res, 0), issuedCert(res, 'renew', 0), artifactBytes(res, 'fleet', 0)]) {
          if (E.isLeft(r)) expect(['transport', 'status', 'decode']).toContain(r.left.kind);
        }
        expect(['acked', 'poison', 'retry']).toContain(deliveryOutcome(res).kind);
      }),
      params,
    );
  });
});

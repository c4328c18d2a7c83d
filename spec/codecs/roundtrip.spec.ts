// Encoding a decoded upstream message gives the same bytes back: key order,
// omitted absents, fraction digits. Checked on upstream's documented examples,
// on every object in the step traces, and on random values.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import type * as t from 'io-ts';
import { decodeJson, encodeJson } from '../../src/codecs/decode';
import { Effect } from '../../src/codecs/effects';
import { AgentEvent, AgentEventEnvelope, Event } from '../../src/codecs/events';
import { HostRolloutSnapshot, HostRolloutState } from '../../src/codecs/host-state';
import { arbAgentEvent, arbEffect, arbEvent, arbSnapshot, arbState, arbText } from '../support/arbitraries';
import { readVector } from '../support/vectors';

const RUNS = { numRuns: 1000 };

function roundTrip<A, O>(codec: t.Type<A, O, unknown>, bytes: string): string {
  const r = decodeJson(codec, bytes);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return encodeJson(codec, r.right);
}

/** Random value → its bytes → decode → encode must give the same bytes. */
function propertyRoundTrip<A, O>(codec: t.Type<A, O, unknown>, arb: fc.Arbitrary<A>) {
  fc.assert(
    fc.property(arb, (v) => {
      const bytes = encodeJson(codec, v);
      expect(roundTrip(codec, bytes)).toBe(bytes);
    }),
    RUNS,
  );
}

describe('byte-identical round trips', () => {
  it('the envelope example of reference §12.3', () => {
    const bytes =
      '{"hostname":"host-test","rolloutId":"stable@abc1234","event":{"kind":"DispatchAck","currentClosureAtDispatch":"prior","receivedAt":"2026-05-17T12:00:00Z","seq":1}}';
    expect(roundTrip(AgentEventEnvelope, bytes)).toBe(bytes);
  });

  it('normalises what upstream would normalise: null optionals, unknown keys, key order, offsets', () => {
    const input =
      '{"rolloutId":"r","event":{"seq":3,"kind":"ProbeResult","probeName":"p","status":"fail","observedAt":"2026-05-17T14:00:00.10+02:00","failureReason":null,"subResults":null,"extra":1},"hostname":"h","signature":null}';
    expect(roundTrip(AgentEventEnvelope, input)).toBe(
      '{"hostname":"h","rolloutId":"r","event":{"kind":"ProbeResult","probeName":"p","mode":"enforce","status":"fail","observedAt":"2026-05-17T12:00:00.100Z","seq":3}}',
    );
  });

  it('every state, event and effect of the upstream step traces', () => {
    let n = 0;
    for (const line of readVector('derived/step-traces/sample.jsonl').trim().split('\n')) {
      const c = JSON.parse(line) as { initial: unknown; steps: { event: unknown; result: { ok?: { state: unknown; effects: unknown[] } } }[] };
      const check = (codec: t.Mixed, v: unknown) => {
        const bytes = JSON.stringify(v);
        expect(roundTrip(codec, bytes)).toBe(bytes);
        n += 1;
      };
      check(HostRolloutState, c.initial);
      for (const s of c.steps) {
        check(Event, s.event);
        if (s.result.ok) {
          check(HostRolloutState, s.result.ok.state);
          s.result.ok.effects.forEach((e) => check(Effect, e));
        }
      }
    }
    expect(n).toBeGreaterThan(6000);
  });

  it('random wire events', () => propertyRoundTrip(AgentEvent, arbAgentEvent));
  it('random envelopes', () =>
    propertyRoundTrip(
      AgentEventEnvelope,
      fc.record({ hostname: arbText, rolloutId: arbText, event: arbAgentEvent, signature: fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }) }, { requiredKeys: ['hostname', 'rolloutId', 'event'] }),
    ));
  it('random reducer events', () => propertyRoundTrip(Event, arbEvent));
  it('random states', () => propertyRoundTrip(HostRolloutState, arbState));
  it('random snapshots', () => propertyRoundTrip(HostRolloutSnapshot, arbSnapshot));
  it('random effects', () => propertyRoundTrip(Effect, arbEffect));
});

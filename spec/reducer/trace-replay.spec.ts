// Replays what upstream's own step() returned on 2,605 events
// (vectors/derived/step-traces): same state, same effects in the same order,
// or the same error kind and Display text. Compared as encoded JSON bytes, so
// key order and omitted optionals are checked too.
import * as E from 'fp-ts/Either';
import { Effect } from '../../src/codecs/effects';
import { encodeJson } from '../../src/codecs/decode';
import { HostRolloutState } from '../../src/codecs/host-state';
import { step } from '../../src/reducer';
import { ev, pol, st, ts } from '../support/decode';
import { readVector } from '../support/vectors';

interface TraceStep {
  now: string;
  event: unknown;
  result: { ok?: { state: unknown; effects: unknown[] }; err?: { kind: string; message: string } };
}
interface TraceCase {
  name: string;
  policy: unknown;
  initial: unknown;
  steps: TraceStep[];
}

const cases: TraceCase[] = readVector('derived/step-traces/sample.jsonl')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as TraceCase);

describe('upstream step() traces', () => {
  it('holds 483 cases and 2,605 steps', () => {
    expect(cases).toHaveLength(483);
    expect(cases.reduce((n, c) => n + c.steps.length, 0)).toBe(2605);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const policy = pol(c.policy);
    let state = st(c.initial);
    c.steps.forEach((s, i) => {
      const r = step(state, ev(s.event), policy, ts(s.now));
      const where = `step ${i} (${(s.event as { kind: string }).kind})`;
      if (s.result.ok !== undefined) {
        if (E.isLeft(r)) throw new Error(`${where}: expected ok, got ${r.left.message}`);
        expect([where, encodeJson(HostRolloutState, r.right.state)]).toEqual([where, JSON.stringify(s.result.ok.state)]);
        expect([where, r.right.effects.map((e) => encodeJson(Effect, e))]).toEqual([where, s.result.ok.effects.map((e) => JSON.stringify(e))]);
        state = r.right.state;
      } else {
        const err = s.result.err!;
        if (E.isRight(r)) throw new Error(`${where}: expected ${err.kind}, got ok`);
        expect([where, r.left.kind, r.left.message]).toEqual([where, err.kind, err.message]);
      }
    });
  });
});

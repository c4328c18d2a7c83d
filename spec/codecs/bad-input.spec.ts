// Bad input to every codec gives a Left with a readable path and reason —
// never an exception, never a partially decoded value. (Arbitrary inputs to
// every codec: spec/fuzz.)
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import type * as t from 'io-ts';
import { decodeJson, decodeWith } from '../../src/codecs/decode';
import { AgentEvent, AgentEventEnvelope, Event } from '../../src/codecs/events';
import { HostRolloutSnapshot, HostRolloutState } from '../../src/codecs/host-state';
import { RolloutPolicy } from '../../src/codecs/policy';

const snapshot = {
  rolloutId: 'stable@r1',
  hostname: 'web-01',
  channel: 'stable',
  state: 'Soaking',
  targetClosure: 't',
  dispatchedAt: '2026-05-16T01:00:00Z',
  lastEventSeq: 3,
};
const envelope = {
  hostname: 'h',
  rolloutId: 'r',
  event: { kind: 'DispatchAck', currentClosureAtDispatch: 'p', receivedAt: '2026-05-17T12:00:00Z', seq: 1 },
};

const issuesOf = (codec: t.Mixed, u: unknown) => {
  const r = decodeWith(codec, u);
  if (E.isRight(r)) throw new Error(`expected a Left for ${JSON.stringify(u)}`);
  return r.left;
};

describe('bad input', () => {
  it.each<[string, t.Mixed, unknown, string, string]>([
    ['wrong type at the root', AgentEventEnvelope, [], '$', 'expected an object'],
    ['missing field', AgentEventEnvelope, { ...envelope, hostname: undefined }, '$.hostname', 'missing required field'],
    ['wrong field type', AgentEventEnvelope, { ...envelope, hostname: 7 }, '$.hostname', 'expected a string'],
    ['unknown kind', AgentEventEnvelope, { ...envelope, event: { ...envelope.event, kind: 'Rebooted' } }, '$.event.kind', 'unknown kind "Rebooted" (expected one of DispatchAck'],
    ['missing kind', Event, { seq: 1 }, '$.kind', 'missing "kind"'],
    ['a Local kind on the wire', AgentEvent, { ...envelope.event, kind: 'LocalActivate' }, '$.kind', 'unknown kind "LocalActivate"'],
    ['bad timestamp', AgentEventEnvelope, { ...envelope, event: { ...envelope.event, receivedAt: '2026-02-30T00:00:00Z' } }, '$.event.receivedAt', 'day 30 out of range'],
    ['negative seq', AgentEventEnvelope, { ...envelope, event: { ...envelope.event, seq: -1 } }, '$.event.seq', 'expected an integer in [0, 9007199254740991]'],
    ['seq beyond 2^53-1', AgentEventEnvelope, { ...envelope, event: { ...envelope.event, seq: 2 ** 64 } }, '$.event.seq', 'expected an integer'],
    ['fractional exit code', Event, { kind: 'RemoteActivationFailed', exitCode: 1.5, stderrTail: '', failedAt: '2026-05-17T12:00:00Z', seq: 1 }, '$.exitCode', 'expected an integer in [-2147483648, 2147483647]'],
    ['lone surrogate', AgentEventEnvelope, { ...envelope, hostname: '\ud800' }, '$.hostname', 'lone UTF-16 surrogate'],
    ['legacy state name', HostRolloutSnapshot, { ...snapshot, state: 'Queued' }, '$.state', 'legacy host state "Queued" is not accepted'],
    ['unknown state name', HostRolloutSnapshot, { ...snapshot, state: 'soaking' }, '$.state', 'expected one of Pending, Activating'],
    ['null required', HostRolloutSnapshot, { ...snapshot, dispatchedAt: null }, '$.dispatchedAt', 'expected an RFC 3339 timestamp string'],
    ['bad enum', RolloutPolicy, { strategy: 's', waves: [], onHealthFailure: 'rollback' }, '$.onHealthFailure', 'expected one of "halt", "rollback-and-halt"'],
    ['bad nested array item', RolloutPolicy, { strategy: 's', waves: [{ selector: {}, soakMinutes: -1 }], onHealthFailure: 'halt' }, '$.waves[0].soakMinutes', 'expected an integer in [0, 4294967295]'],
    ['bad probe map entry', HostRolloutState, { ...snapshot, state: 'Soaking', probes: { 'my probe': { status: 'ok' } } }, '$.probes["my probe"].status', 'expected one of "pass", "fail"'],
  ])('%s', (_name, codec, input, path, reason) => {
    const err = issuesOf(codec, input);
    expect(err.issues).toContainEqual({ path, reason: expect.stringContaining(reason) });
    expect(err.message).toContain(`${path}: `);
  });

  it('reports every issue, not only the first', () => {
    const err = issuesOf(HostRolloutSnapshot, { ...snapshot, hostname: 1, lastEventSeq: 'x' });
    expect(err.issues.map((i) => i.path)).toEqual(['$.hostname', '$.lastEventSeq']);
  });

  it('malformed JSON text is a DecodeError too', () => {
    const r = decodeJson(AgentEventEnvelope, '{"hostname":');
    expect(E.isLeft(r) && r.left.issues[0]?.reason).toMatch(/^malformed JSON/);
  });

  it('never throws on mutated valid events', () => {
    const valid = JSON.stringify(envelope);
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.string({ maxLength: 3 }), (i, s) => {
        const r = decodeJson(AgentEventEnvelope, valid.slice(0, i) + s + valid.slice(i + 1));
        if (E.isLeft(r)) expect(r.left.message).toMatch(/^invalid AgentEventEnvelope: \$/);
      }),
      { numRuns: 1000 },
    );
  });
});

// RFC 3339 timestamps keep nanoseconds and are written as upstream's chrono does.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { decodeWith } from '../../src/codecs/decode';
import {
  addSeconds,
  compareTimestamps,
  elapsedWholeSeconds,
  formatInstant,
  fromEpochMillis,
  parseInstant,
  TimestampCodec,
  toEpochMillis,
  toRfc3339Offset,
} from '../../src/codecs/timestamp';
import { arbTimestamp } from '../support/arbitraries';
import { ts } from '../support/decode';

const RUNS = { numRuns: 1000 };
const decode = (s: unknown) => decodeWith(TimestampCodec, s);

describe('Timestamp codec', () => {
  it.each([
    ['2026-05-17T12:00:00Z', '2026-05-17T12:00:00Z'],
    ['2026-05-17T12:00:00.5Z', '2026-05-17T12:00:00.500Z'],
    ['2026-05-17T12:00:00.000Z', '2026-05-17T12:00:00Z'],
    ['2026-05-17T12:00:00.123456Z', '2026-05-17T12:00:00.123456Z'],
    ['2026-05-17T12:00:00.1234567Z', '2026-05-17T12:00:00.123456700Z'],
    ['2026-05-19T14:34:04.427227571Z', '2026-05-19T14:34:04.427227571Z'],
    ['2026-05-19T14:34:04.4272275719Z', '2026-05-19T14:34:04.427227571Z'],
    ['2026-05-16T01:00:00+00:00', '2026-05-16T01:00:00Z'],
    ['2026-05-16T03:30:00+02:30', '2026-05-16T01:00:00Z'],
    ['2026-05-15T23:00:00-02:00', '2026-05-16T01:00:00Z'],
    ['2026-05-16t01:00:00z', '2026-05-16T01:00:00Z'],
    ['2026-05-16 01:00:00Z', '2026-05-16T01:00:00Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'],
    ['1969-12-31T23:59:59.999999999Z', '1969-12-31T23:59:59.999999999Z'],
  ])('%s decodes to %s', (input, canonical) => {
    expect(decode(input)).toEqual(E.right(canonical));
  });

  it.each([
    ['2026-05-17', 'not an RFC 3339 timestamp'],
    ['2026-05-17T12:00:00', 'not an RFC 3339 timestamp'],
    ['2026-13-01T00:00:00Z', 'month 13 out of range'],
    ['2025-02-29T00:00:00Z', 'day 29 out of range'],
    ['2026-05-17T24:00:00Z', 'hour 24 out of range'],
    ['2026-05-17T12:60:00Z', 'minute 60 out of range'],
    ['2016-12-31T23:59:60Z', 'leap seconds are not accepted'],
    ['2026-05-17T12:00:00.Z', 'not an RFC 3339 timestamp'],
    ['2026-05-17T12:00:00+24:00', 'UTC offset out of range'],
    [' 2026-05-17T12:00:00Z', 'not an RFC 3339 timestamp'],
    [1747483200, 'expected an RFC 3339 timestamp string'],
    [null, 'expected an RFC 3339 timestamp string'],
  ])('%p is refused: %s', (input, reason) => {
    const r = decode(input);
    expect(E.isLeft(r) && r.left.issues[0]?.reason).toContain(reason);
  });

  it('round-trips every canonical timestamp byte for byte, keeping nanoseconds', () => {
    fc.assert(
      fc.property(arbTimestamp, (t) => {
        expect(decode(t)).toEqual(E.right(t));
        const frac = /\.(\d+)Z$/.exec(t)?.[1] ?? '';
        expect([0, 3, 6, 9]).toContain(frac.length);
      }),
      RUNS,
    );
  });

  it('any offset spelling of an instant normalises to the same canonical text', () => {
    fc.assert(
      fc.property(arbTimestamp, fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (t, offsetMin) => {
        const i = E.getOrElseW((reason: string) => { throw new Error(reason); })(parseInstant(t));
        const local = formatInstant({ seconds: i.seconds + offsetMin * 60, nanos: i.nanos }).slice(0, -1);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const spelled = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(decode(spelled)).toEqual(E.right(t));
      }),
      RUNS,
    );
  });

  it('agrees with Date on millisecond instants (except for the fraction rule)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const iso = new Date(ms).toISOString().replace('.000Z', 'Z');
        expect(fromEpochMillis(ms)).toBe(iso);
        expect(toEpochMillis(fromEpochMillis(ms))).toBe(ms);
      }),
      RUNS,
    );
  });

  it('orders at nanosecond precision, whatever the digit count', () => {
    expect(compareTimestamps(ts('2026-05-16T01:05:00.000000001Z'), ts('2026-05-16T01:05:00Z'))).toBe(1);
    expect(compareTimestamps(ts('2026-05-16T01:05:00.100Z'), ts('2026-05-16T01:05:00.099999999Z'))).toBe(1);
    expect(compareTimestamps(ts('2026-05-16T01:05:00.5Z'), ts('2026-05-16T01:05:00.500000000Z'))).toBe(0);
    fc.assert(
      fc.property(arbTimestamp, arbTimestamp, (a, b) => {
        const c = compareTimestamps(a, b);
        expect(compareTimestamps(b, a)).toBe(c === 0 ? 0 : -c); // not -c: toBe tells -0 from 0
        expect(c === 0).toBe(a === b);
      }),
      RUNS,
    );
  });

  it('computes whole elapsed seconds truncated toward zero', () => {
    expect(elapsedWholeSeconds(ts('2026-01-01T00:00:00.9Z'), ts('2026-01-01T00:02:00.8Z'))).toBe(119);
    expect(elapsedWholeSeconds(ts('2026-01-01T00:02:00.8Z'), ts('2026-01-01T00:00:00.9Z'))).toBe(-119);
    expect(addSeconds(ts('2026-01-01T00:00:00.999999999Z'), 1e-9)).toBe('2026-01-01T00:00:01Z');
    expect(toRfc3339Offset(ts('2026-05-16T01:00:00.5Z'))).toBe('2026-05-16T01:00:00.500+00:00');
  });
});

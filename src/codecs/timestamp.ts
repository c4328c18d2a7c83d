// RFC 3339 timestamps at nanosecond precision, as upstream (chrono) writes them.
//
// A JS Date keeps milliseconds only, and upstream stamps agent events with
// `Utc::now()` (up to 9 fraction digits); the soak gate compares at full
// precision. So a timestamp stays a string: the decoder accepts any RFC 3339
// offset and normalises to upstream's serde form (UTC, `Z`, fraction omitted
// when zero, otherwise the shortest of 3/6/9 digits that is exact); the
// comparisons below parse it into (whole seconds, nanoseconds).
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';

export interface TimestampBrand {
  readonly Timestamp: unique symbol;
}
/** An RFC 3339 UTC instant in upstream's canonical serde spelling. */
export type Timestamp = string & TimestampBrand;

/** An instant as whole seconds since the Unix epoch plus nanoseconds (0..999_999_999). */
export interface Instant {
  readonly seconds: number;
  readonly nanos: number;
}

const NANOS_PER_SECOND = 1_000_000_000;

// chrono's relaxed RFC 3339 parser: `T`, `t` or a space between date and time,
// any number of fraction digits (beyond 9 are truncated), `Z`/`z` or ±HH:MM.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

// Upstream's range for DateTime<Utc> is wider, but every timestamp it writes is
// a four-digit year; keeping the same bound on output makes formatting total.
const MIN_SECONDS = daysFromCivil(0, 1, 1) * 86400;
const MAX_SECONDS = daysFromCivil(9999, 12, 31) * 86400 + 86399;

/** Parses RFC 3339 text; Left carries the reason. Leap seconds (`:60`) are refused. */
export function parseInstant(text: string): E.Either<string, Instant> {
  const m = RFC3339.exec(text);
  if (m === null) return E.left('not an RFC 3339 timestamp (expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) return E.left(`month ${month} out of range`);
  if (day < 1 || day > daysInMonth(year, month)) return E.left(`day ${day} out of range for ${year}-${String(month).padStart(2, '0')}`);
  if (hour > 23) return E.left(`hour ${hour} out of range`);
  if (minute > 59) return E.left(`minute ${minute} out of range`);
  if (second > 59) return E.left(`second ${second} out of range (leap seconds are not accepted)`);
  const fraction = m[7] ?? '';
  const nanos = Number((fraction + '000000000').slice(0, 9));
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return E.left('UTC offset out of range');
    offset = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) return E.left('timestamp outside years 0000..9999 UTC');
  return E.right({ seconds, nanos });
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

// The agent formats a timestamp for every distinct scheduler reading (each
// turn's `now`, each probe observation), so formatting avoids per-field
// string padding: two-digit fields come from a table, and the date part is
// kept for the last day formatted (consecutive readings share it).
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => pad(i, 2));
const twoDigits = (n: number): string => TWO_DIGITS[n] as string;
let lastDays = Number.NaN;
let lastDatePart = '';

function datePart(days: number): string {
  if (days !== lastDays) {
    const [y, mo, d] = civilFromDays(days);
    lastDatePart = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T`;
    lastDays = days;
  }
  return lastDatePart;
}

/** Upstream's serde spelling: UTC with `Z`, fraction omitted when zero, else 3, 6 or 9 digits. */
export function formatInstant(instant: Instant): Timestamp {
  const days = Math.floor(instant.seconds / 86400);
  const secOfDay = instant.seconds - days * 86400;
  const hms = `${twoDigits(Math.floor(secOfDay / 3600))}:${twoDigits(Math.floor((secOfDay % 3600) / 60))}:${twoDigits(secOfDay % 60)}`;
  let fraction = '';
  if (instant.nanos !== 0) {
    const digits = pad(instant.nanos, 9);
    fraction = '.' + (digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits);
  }
  return `${datePart(days)}${hms}${fraction}Z` as Timestamp;
}

/** Same instant, written in the `to_rfc3339()` style upstream uses for DB columns (`+00:00`). */
export function toRfc3339Offset(ts: Timestamp): string {
  return ts.slice(0, -1) + '+00:00';
}

/** Canonical form of RFC 3339 text, or the reason it is not one. */
export function normalizeTimestamp(text: string): E.Either<string, Timestamp> {
  return E.map(formatInstant)(parseInstant(text));
}

/**
 * Instant of a decoded Timestamp. Total for values produced by the codec or
 * the helpers here; anything else (a forged brand) maps to the epoch rather
 * than throwing, so the reducer can never crash on a comparison.
 */
export function instantOf(ts: Timestamp): Instant {
  const r = parseInstant(ts);
  return E.isRight(r) ? r.right : { seconds: 0, nanos: 0 };
}

export function compareInstants(a: Instant, b: Instant): -1 | 0 | 1 {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return 0;
}

/** Instant order of two timestamps at nanosecond precision. */
export function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  return compareInstants(instantOf(a), instantOf(b));
}

/** `to - from` in whole seconds, truncated toward zero (chrono's `num_seconds`). */
export function elapsedWholeSeconds(from: Timestamp, to: Timestamp): number {
  const a = instantOf(from);
  const b = instantOf(to);
  let secs = b.seconds - a.seconds;
  const nanos = b.nanos - a.nanos;
  if (secs > 0 && nanos < 0) secs -= 1;
  else if (secs < 0 && nanos > 0) secs += 1;
  return secs;
}

/** `ts + seconds` (may be fractional; resolved to whole nanoseconds). Clamped to the supported range. */
export function addSeconds(ts: Timestamp, seconds: number): Timestamp {
  const base = instantOf(ts);
  const whole = Math.trunc(seconds);
  const extraNanos = Math.round((seconds - whole) * NANOS_PER_SECOND);
  return fromParts(base.seconds + whole, base.nanos + extraNanos);
}

function fromParts(seconds: number, nanos: number): Timestamp {
  const carry = Math.floor(nanos / NANOS_PER_SECOND);
  const s = Math.min(MAX_SECONDS, Math.max(MIN_SECONDS, seconds + carry));
  return formatInstant({ seconds: s, nanos: nanos - carry * NANOS_PER_SECOND });
}

/** Timestamp of a scheduler clock reading (milliseconds since the epoch, possibly fractional). */
export function fromEpochMillis(ms: number): Timestamp {
  const whole = Math.floor(ms);
  const subNanos = Math.round((ms - whole) * 1_000_000);
  return fromParts(Math.floor(whole / 1000), (whole % 1000 + 1000) % 1000 * 1_000_000 + subNanos);
}

/** Milliseconds since the epoch (sub-millisecond part dropped) — for schedulers and Date interop only. */
export function toEpochMillis(ts: Timestamp): number {
  const i = instantOf(ts);
  return i.seconds * 1000 + Math.floor(i.nanos / 1_000_000);
}

/** io-ts codec: decodes any RFC 3339 string to the canonical form; encodes as is. */
export const TimestampCodec = new t.Type<Timestamp, string, unknown>(
  'Timestamp',
  (u): u is Timestamp => typeof u === 'string' && E.isRight(parseInstant(u)) && formatInstant(instantOf(u as Timestamp)) === u,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected an RFC 3339 timestamp string');
    const r = normalizeTimestamp(u);
    return E.isRight(r) ? t.success(r.right) : t.failure(u, c, r.left);
  },
  t.identity,
);

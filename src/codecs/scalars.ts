// Scalar codecs shared by every wire shape, with upstream's Rust ranges.
import * as t from 'io-ts';
import { integer, literals } from './struct';

// Rust strings are valid UTF-8, so serde_json refuses lone surrogates that
// JSON.parse lets through ("\ud800"); refuse them here too.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const Text = new t.Type<string, string, unknown>(
  'string',
  (u): u is string => typeof u === 'string' && !LONE_SURROGATE.test(u),
  (u, c) =>
    typeof u !== 'string'
      ? t.failure(u, c, 'expected a string')
      : LONE_SURROGATE.test(u)
        ? t.failure(u, c, 'string contains a lone UTF-16 surrogate (not valid UTF-8)')
        : t.success(u),
  t.identity,
);

/**
 * u64 sequence numbers and durations. JSON numbers above 2^53-1 lose precision
 * in JavaScript, so they are refused rather than silently rounded
 * (docs/compatibility.md).
 */
export const U64 = integer('u64', 0, Number.MAX_SAFE_INTEGER);
export const Seq = U64;
export const U32 = integer('u32', 0, 0xffff_ffff);
export const I32 = integer('i32', -0x8000_0000, 0x7fff_ffff);

export const ProbeStatus = literals('ProbeStatus', ['pass', 'fail'] as const);
export type ProbeStatus = t.TypeOf<typeof ProbeStatus>;

export const ProbeMode = literals('ProbeMode', ['enforce', 'observe', 'disabled'] as const);
export type ProbeMode = t.TypeOf<typeof ProbeMode>;

export const OnHealthFailure = literals('OnHealthFailure', ['halt', 'rollback-and-halt'] as const);
export type OnHealthFailure = t.TypeOf<typeof OnHealthFailure>;

export const LogLevel = literals('LogLevel', ['Trace', 'Debug', 'Info', 'Warn', 'Error'] as const);
export type LogLevel = t.TypeOf<typeof LogLevel>;

export const HOST_STATES = ['Pending', 'Activating', 'Deferred', 'Soaking', 'Converged', 'Failed', 'Reverted'] as const;
export type HostState = (typeof HOST_STATES)[number];

// The pre-7-state schema's names; named in the error so an operator reading a
// log line knows it is an old control plane or an old database, not garbage.
const LEGACY_STATES = ['Queued', 'Dispatched', 'ConfirmWindow', 'Healthy', 'Soaked'];

export const HostState = new t.Type<HostState, HostState, unknown>(
  'HostState',
  (u): u is HostState => typeof u === 'string' && (HOST_STATES as readonly string[]).includes(u),
  (u, c) => {
    if (typeof u === 'string' && (HOST_STATES as readonly string[]).includes(u)) return t.success(u as HostState);
    if (typeof u === 'string' && LEGACY_STATES.includes(u))
      return t.failure(u, c, `legacy host state ${JSON.stringify(u)} is not accepted (expected one of ${HOST_STATES.join(', ')})`);
    return t.failure(u, c, `expected one of ${HOST_STATES.join(', ')}`);
  },
  t.identity,
);

/** `"{channel}@{channelRef}"`; tests also use bare ids such as `"r1"`. */
export const RolloutId = Text;
export type RolloutId = string;

export { rolloutChannel, rolloutChannelRef } from './protocol';

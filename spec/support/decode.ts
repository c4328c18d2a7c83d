// Test helpers: decode fixtures through the real codecs (a fixture that does
// not decode is a test bug, so these throw).
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { decodeWith } from '../../src/codecs/decode';
import { Event } from '../../src/codecs/events';
import { HostRolloutState } from '../../src/codecs/host-state';
import { RolloutPolicy } from '../../src/codecs/policy';
import { TimestampCodec, type Timestamp } from '../../src/codecs/timestamp';

export function mustDecode<A>(codec: t.Type<A, unknown, unknown>, u: unknown): A {
  const r = decodeWith(codec, u);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

export const ts = (s: string): Timestamp => mustDecode(TimestampCodec, s);
export const ev = (u: unknown): Event => mustDecode(Event, u);
export const st = (u: unknown): HostRolloutState => mustDecode(HostRolloutState, u);
export const pol = (u: unknown): RolloutPolicy => mustDecode(RolloutPolicy, u);

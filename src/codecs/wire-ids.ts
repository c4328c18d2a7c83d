// Rollout ids and closure names as the control plane sends them, checked at
// decode time: a CP answer (dispatch, heartbeat snapshots) carrying a bad one
// is a DecodeError with the field's path and the reason, before the value
// can reach a file name, a log line, a status screen or a tool's argv.
//
// Only the wire codecs use these. The reducer's own codecs (HostRolloutState,
// HostRolloutSnapshot) stay plain Text: upstream's step-trace vectors and
// the specs use bare ids such as "r1" and closures such as "closure-a".
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { escapeControl, hasControl } from './escape';
import { Text } from './scalars';
import { parseClosureName } from './store-path';

/**
 * The id names cache files `rollouts/<id>.json.sig` (src/trust/manifest-cache.ts),
 * so it must fit a file name: 255 bytes (NAME_MAX) less `.json.sig`.
 */
export const MAX_ROLLOUT_ID_BYTES = 255 - '.json.sig'.length;

/** The value as it may appear inside an error message: quoted, escaped, shortened. */
function quoted(s: string): string {
  const q = escapeControl(JSON.stringify(s));
  return q.length > 80 ? `${q.slice(0, 77)}...` : q;
}

/**
 * Whether `id` can name a file under the cache directory: `/` and `..` are
 * refused as upstream, plus NUL and `\` (which no valid `channel@hex` id
 * contains). src/trust/rollout-binding.ts refuses such an id before any path is built.
 */
export const isPathSafeRolloutId = (id: string): boolean => id.length > 0 && !/[/\\\0]/.test(id) && !id.includes('..');

/** Why `id` is not a rollout id the agent accepts from the CP, or undefined when it is. */
export function rolloutIdProblem(id: string): string | undefined {
  if (!isPathSafeRolloutId(id)) return 'contains path-traversal characters ("/", "\\", "..", NUL) or is empty';
  if (hasControl(id) || /\s/.test(id)) return 'contains a control character or whitespace';
  if (Buffer.byteLength(id, 'utf8') > MAX_ROLLOUT_ID_BYTES) return `longer than ${MAX_ROLLOUT_ID_BYTES} bytes`;
  const at = id.indexOf('@');
  if (at <= 0 || at === id.length - 1) return 'expected "<channel>@<ref>"';
  return undefined;
}

/** `"<channel>@<ref>"`, safe as a file name and in a log line (see rolloutIdProblem). */
export const WireRolloutId = new t.Type<string, string, unknown>(
  'RolloutId',
  (u): u is string => Text.is(u) && rolloutIdProblem(u) === undefined,
  (u, c) => {
    const text = Text.validate(u, c);
    if (E.isLeft(text)) return text;
    const problem = rolloutIdProblem(text.right);
    return problem === undefined ? t.success(text.right) : t.failure(u, c, `rollout id ${quoted(text.right)}: ${problem}`);
  },
  t.identity,
);

/** A store basename `<32 nix-base32>-<name>`, as src/codecs/store-path.ts defines it. */
export const WireClosure = new t.Type<string, string, unknown>(
  'ClosureName',
  (u): u is string => Text.is(u) && E.isRight(parseClosureName(u)),
  (u, c) => {
    const text = Text.validate(u, c);
    if (E.isLeft(text)) return text;
    const name = parseClosureName(text.right);
    return E.isRight(name) ? t.success(text.right) : t.failure(u, c, `closure ${quoted(text.right)}: ${escapeControl(name.left.reason)}`);
  },
  t.identity,
);

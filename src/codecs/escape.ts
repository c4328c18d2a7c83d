// Text that came from outside (a CP answer, a snapshot, a stored record, a
// probe's stderr) must not drive the terminal or the log reader that shows
// it. Both the logger (src/io/log.ts) and `status` (src/cli/status.ts) run
// every string they print through here.
//
// Escaped, as visible text:
// - C0 controls U+0000–U+001F (tab included: a log line or a status line is
//   one record, and a tab can fake column alignment) and DEL U+007F;
// - C1 controls U+0080–U+009F (U+009B is a one-character CSI on some terminals);
// - U+2028 / U+2029 (line and paragraph separators: a new line to many viewers);
// - bidirectional formatting controls (U+061C, U+200E, U+200F, U+202A–U+202E,
//   U+2066–U+2069), which reorder what a reader sees.
// LF, CR and tab keep their short forms (`\n`, `\r`, `\t`); everything else in
// U+0000–U+00FF becomes `\xNN`, the rest `\uNNNN`. Spaces stay. A backslash is
// left alone: the goal is that no raw control character reaches a screen or
// splits a line, not a reversible encoding.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// What JSON.stringify leaves raw inside strings (it escapes C0 itself).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (code: number, width: number): string => code.toString(16).padStart(width, '0');

function visible(ch: string): string {
  const short = SHORT[ch];
  if (short !== undefined) return short;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

/** `s` with every control character above written out as visible text. */
export function escapeControl(s: string): string {
  return s.replace(UNSAFE, visible);
}

/**
 * JSON text (as JSON.stringify wrote it) with DEL, C1, U+2028/9 and bidi
 * controls as `\uNNNN` escapes. Still the same JSON value: those characters
 * can only occur inside strings, where `\uNNNN` means the same character.
 */
export function escapeJsonControl(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`);
}

const ANY_UNSAFE = new RegExp(UNSAFE.source); // not global: `test` keeps no state

/** True when `s` holds a character escapeControl would rewrite. */
export function hasControl(s: string): boolean {
  return ANY_UNSAFE.test(s);
}

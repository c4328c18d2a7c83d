// Terminal display width of plain text (no escape sequences): a terminal
// cell per character, two for East Asian wide characters and emoji, none for
// combining marks and format characters. Counted by code point, never by
// UTF-16 unit. Close to wcwidth; over-counting is harmless here (a line ends
// a cell early), under-counting would wrap a line and break the redraw.

const ZERO = /[\p{Mn}\p{Me}\p{Cf}\p{Cc}]/u;
const EMOJI = /\p{Emoji_Presentation}/u;
// East Asian Wide and Fullwidth blocks.
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x1b000, 0x1b2ff], [0x1f200, 0x1f2ff],
  [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];
const VS16 = '\ufe0f';

export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  if (ZERO.test(ch)) return 0;
  if (EMOJI.test(ch) || WIDE.some(([lo, hi]) => cp >= lo && cp <= hi)) return 2;
  return 1;
}

/** Cells `text` takes on a terminal. */
export function displayWidth(text: string): number {
  return cutText(text, Infinity).width;
}

/**
 * The longest prefix of `text` that fits in `width` cells, and its width.
 * A variation selector 16 turns a one-cell symbol into a two-cell emoji.
 */
export function cutText(text: string, width: number): { readonly text: string; readonly width: number } {
  let out = '';
  let used = 0;
  let last = 0;
  for (const ch of text) {
    const w = ch === VS16 && last === 1 ? 1 : charWidth(ch);
    if (used + w > width) break;
    out += ch;
    used += w;
    if (w > 0) last = w;
  }
  return { text: out, width: used };
}

/** `text` in exactly `width` cells: cut with an ellipsis, or padded with spaces. */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const fitted = ellipsis(text, width);
  const pad = ' '.repeat(width - fitted.width);
  return align === 'left' ? fitted.text + pad : pad + fitted.text;
}

/** `text` cut to `width` cells with `…` as the last one, when it does not fit. */
export function ellipsis(text: string, width: number): { readonly text: string; readonly width: number } {
  const whole = cutText(text, width);
  if (whole.text.length === text.length || width <= 0) return whole;
  const head = cutText(text, width - 1);
  return { text: `${head.text}…`, width: head.width + 1 };
}

/** Words joined by spaces into lines of at most `width` cells, each after `indent`. */
export function wrapWords(words: readonly string[], width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const next = line === '' ? indent + word : `${line} ${word}`;
    if (line !== '' && displayWidth(next) > width) {
      lines.push(line);
      line = indent + word;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

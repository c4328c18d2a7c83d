import { cell, cutText, displayWidth, wrapWords } from '../../src/demo/text';

describe('display width', () => {
  it.each([
    ['ascii', 'web-01', 6],
    ['em dash and ellipsis (one cell each)', '—…', 2],
    ['CJK (two cells each)', 'ウェブ-01', 9],
    ['Hangul', '서버', 4],
    ['fullwidth forms', 'ＡＢ', 4],
    ['emoji outside the BMP: one code point, two UTF-16 units, two cells', '🚀', 2],
    ['a combining accent adds nothing', 'e\u0301', 1],
    ['a zero-width joiner adds nothing', 'a\u200db', 2],
    ['VS16 makes a text symbol a two-cell emoji', '\u2764\ufe0f', 2],
    ['empty', '', 0],
  ])('%s', (_what, text, cells) => {
    expect(displayWidth(text)).toBe(cells);
  });
});

describe('cutting and padding', () => {
  it.each([
    ['fits whole', 'web-01', 10, 'web-01', 6],
    ['cut by cells, not UTF-16 units', '🚀🚀🚀', 4, '🚀🚀', 4],
    ['a wide character never straddles the edge', 'ab漢字', 3, 'ab', 2],
    ['a combining mark stays with its base', 'e\u0301x', 1, 'e\u0301', 1],
  ])('cutText: %s', (_what, text, width, out, cells) => {
    expect(cutText(text, width)).toEqual({ text: out, width: cells });
  });

  it.each([
    ['pads on the right', 'ab', 5, 'left', 'ab   '],
    ['pads on the left', '3/3', 6, 'right', '   3/3'],
    ['cuts with an ellipsis in the last cell', 'nixos-system-web-01-v2', 10, 'left', 'nixos-sys…'],
    ['wide text cut, then padded to the exact width', '漢字漢字', 6, 'left', '漢字… '],
    ['no room at all', 'abc', 0, 'left', ''],
  ] as const)('cell: %s', (_what, text, width, align, out) => {
    expect(cell(text, width, align)).toBe(out);
    expect(displayWidth(cell(text, width, align))).toBe(width);
  });

  it('wraps words at the width, each line after the indent; a word longer than the line stands alone', () => {
    expect(wrapWords(['aaa', 'bbb', 'ccc', 'dddddddddd'], 10, '  ')).toEqual(['  aaa bbb', '  ccc', '  dddddddddd']);
    expect(wrapWords([], 10, '  ')).toEqual([]);
  });
});

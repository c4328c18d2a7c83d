// One line per event, in the format the destination wants.
import { createLogger, formatLine } from '../../src/io/log';

describe('log lines', () => {
  it('text: level, message, key=value (quoted when needed), no newlines inside a line', () => {
    expect(formatLine('text', 'info', 'rollout stable@r1: Pending → Activating', { rolloutId: 'stable@r1', n: 3, why: 'two words\nline' })).toBe(
      'INFO  rollout stable@r1: Pending → Activating rolloutId=stable@r1 n=3 why="two words\\nline"',
    );
  });
  it('journal: syslog priority prefixes journald maps to priorities', () => {
    expect(['error', 'warn', 'info', 'debug'].map((l) => formatLine('journal', l as 'info', 'm').slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
  });
  it('json: one object per line', () => {
    expect(JSON.parse(formatLine('json', 'warn', 'm', { a: [1] }, '2026-01-01T00:00:00Z'))).toEqual({ at: '2026-01-01T00:00:00Z', level: 'warn', message: 'm', a: [1] });
  });
  describe('control characters from outside never reach the output raw', () => {
    // CR, ESC, an OSC title sequence, LF, a one-character CSI (U+009B), a line separator, a bidi override.
    const HOSTILE = 'a\rb\x1b[31mc\x1b]0;x\x07d\ne\u009bf\u2028g\u202eh\ti';
    // eslint-disable-next-line no-control-regex
    const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;
    const fields = { rolloutId: HOSTILE, nested: { deeper: [HOSTILE] }, n: 1 };

    it.each(['text', 'journal', 'json'] as const)('%s: message and every field value, nested too', (format) => {
      const line = formatLine(format, 'warn', `rollout ${HOSTILE}: Pending → Activating`, fields, '2026-01-01T00:00:00Z');
      expect(line).not.toMatch(RAW);
      expect(line).toContain('→'); // ordinary non-ASCII text is left alone
    });

    it('text: escapes are visible and name the character', () => {
      expect(formatLine('text', 'info', HOSTILE)).toBe('INFO  a\\rb\\x1b[31mc\\x1b]0;x\\x07d\\ne\\x9bf\\u2028g\\u202eh\\ti');
      expect(formatLine('text', 'info', 'm', { v: 'x\u0085y' })).toBe('INFO  m v="x\\x85y"');
    });

    it('json: still the same JSON value, with C1, U+2028/9 and bidi controls as \\uNNNN', () => {
      const line = formatLine('json', 'info', HOSTILE, fields);
      expect(line).toContain('\\u009b');
      expect(line).toContain('\\u2028');
      expect(line).toContain('\\u202e');
      expect(JSON.parse(line)).toEqual({ level: 'info', message: HOSTILE, ...fields });
    });

    it('json: a field JSON.stringify cannot encode still yields one line', () => {
      expect(JSON.parse(formatLine('json', 'info', 'm', { big: 10n, esc: '\x9b' }))).toEqual({ level: 'info', message: 'm', big: '10', esc: '\x9b' });
    });

    it('the logger writes escaped lines', () => {
      const lines: string[] = [];
      createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) }).info(HOSTILE, fields);
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toMatch(RAW);
    });
  });

  it('filters below the level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', format: 'text', write: (l) => lines.push(l) });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e', { k: 'v' });
    expect(lines).toEqual(['WARN  w', 'ERROR e k=v']);
  });
});

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

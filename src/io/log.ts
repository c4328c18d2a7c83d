// The real logger: loglevel underneath, one line per event. Formats:
// - text: `LEVEL message key=value …` for a person at a terminal;
// - journal: the same with a syslog priority prefix (`<3>` …) that journald
//   turns into the entry's priority;
// - json: one JSON object per line for log shippers.
// `auto` picks journal when stdout is connected to the journal (systemd sets
// JOURNAL_STREAM to the device:inode of that stream), else text.
// Messages and field values carry CP-supplied text, so no format lets a raw
// control character through (src/codecs/escape.ts): text and journal lines
// are escaped whole, JSON lines get `\uNNNN` for what JSON.stringify leaves raw.
import * as fs from 'fs';
import loglevel from 'loglevel';
import { escapeControl, escapeJsonControl } from '../codecs/escape';
import type { Fields, Logger } from '../ports/logger';

export type LogFormat = 'auto' | 'text' | 'json' | 'journal';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

const PRIORITY: Record<LogLevelName, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** True when fd 1 is the stream systemd announced in JOURNAL_STREAM. */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const announced = env['JOURNAL_STREAM'];
  if (announced === undefined) return false;
  try {
    const st = fs.fstatSync(1);
    return announced === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

function render(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function jsonLine(record: Readonly<Record<string, unknown>>, fields: Fields): string {
  try {
    return JSON.stringify(record);
  } catch {
    // A BigInt or a cycle in a field: keep the line, with such a field as text.
    const encodable = (v: unknown): unknown => {
      try {
        JSON.stringify(v);
        return v;
      } catch {
        return String(v);
      }
    };
    return JSON.stringify({ ...record, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, encodable(v)])) });
  }
}

export function formatLine(format: Exclude<LogFormat, 'auto'>, level: LogLevelName, message: string, fields: Fields = {}, at?: string): string {
  if (format === 'json') return escapeJsonControl(jsonLine({ ...(at !== undefined ? { at } : {}), level, message, ...fields }, fields));
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${render(v)}`)
    .join(' ');
  // Whole line: the message, keys, and every value (nested ones arrive JSON-encoded, with C1 still raw).
  const text = escapeControl(`${level.toUpperCase().padEnd(5)} ${message}${kv === '' ? '' : ` ${kv}`}`);
  return format === 'journal' ? `<${PRIORITY[level]}>${text}` : at !== undefined ? `${at} ${text}` : text;
}

export interface LoggerOptions {
  readonly level: LogLevelName;
  readonly format: LogFormat;
  /** Where lines go; stdout by default. */
  readonly write?: (line: string) => void;
  /** Wall-clock stamp for text/json lines (journald stamps entries itself). */
  readonly clock?: () => string;
  readonly name?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.format === 'auto' ? (stdoutIsJournal() ? 'journal' : 'text') : opts.format;
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log = loglevel.getLogger(opts.name ?? 'nixfleet-agent');
  log.methodFactory = () => (line: string) => write(line);
  log.setLevel(opts.level, false);
  const stamp = () => (format === 'journal' ? undefined : opts.clock?.());
  const emit = (level: LogLevelName) => (message: string, fields?: Fields) => log[level](formatLine(format, level, message, fields, stamp()));
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

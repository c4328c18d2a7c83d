// What the demo shows, as pure functions of plain data: the live view (one
// frame for a terminal of a given size), the line appended when stdout is not
// a terminal, the summary, and the bytes that redraw the live view in place.
import { cell, cutText, displayWidth } from './text';

export interface HostRow {
  readonly host: string;
  /** The host's state on the CP's mirror; undefined before its dispatch. */
  readonly state: string | undefined;
  readonly closure: string | undefined;
  readonly probe: string | undefined;
  readonly queued: number;
  readonly delivered: number;
}

export interface Frame {
  readonly title: string;
  readonly elapsed: string;
  readonly hosts: readonly HostRow[];
  /** What the CP received, oldest first, one line each. */
  readonly events: readonly string[];
}

export interface Screen {
  readonly width: number;
  readonly height: number;
  /** Escape sequences for bold, dim and colours (a terminal only). */
  readonly color: boolean;
}

/** A line as styled runs: [text, SGR parameter or '' for none]. */
export type Line = readonly (readonly [string, string])[];

export const BOLD = '1';
export const DIM = '2';
export const STATE_SGR: Readonly<Record<string, string>> = { Converged: '32', Reverted: '33', Failed: '31', Soaking: '36', Activating: '35', Pending: '37', Deferred: '34' };
const GAP = '  ';
const STATE_W = 11;
const EVENTS_W = 12;
const EVENT_LINES = 6;

/** A store basename without its hash: what a reader tells closures apart by. */
export const shortClosure = (closure: string | undefined): string => (closure === undefined ? '—' : closure.replace(/^[a-z0-9]{32}-/, ''));

interface Columns {
  readonly host: number;
  readonly closure: number;
  readonly probe: number;
}

// Host names get at most a quarter of the width; closure and probe share
// what is left, the probe at most 40 % of it once they no longer both fit.
function columns(rows: readonly HostRow[], width: number): Columns {
  const widest = (min: number, f: (r: HostRow) => string) => Math.max(min, ...rows.map((r) => displayWidth(f(r))));
  const host = Math.min(widest(4, (r) => r.host), Math.max(8, Math.floor(width / 4)));
  const rest = Math.max(0, width - host - STATE_W - EVENTS_W - 4 * GAP.length);
  const closure = widest(15, (r) => shortClosure(r.closure));
  const probe = widest(20, (r) => r.probe ?? '—');
  if (closure + probe <= rest) return { host, closure, probe };
  const probeW = Math.min(probe, Math.max(8, Math.floor(rest * 0.4)));
  return { host, closure: Math.max(0, rest - probeW), probe: probeW };
}

function hostLine(r: HostRow, c: Columns): Line {
  const state = r.state ?? '—';
  return [
    [cell(r.host, c.host) + GAP, ''],
    [cell(state, STATE_W), STATE_SGR[state] ?? ''],
    [`${GAP}${cell(shortClosure(r.closure), c.closure)}${GAP}${cell(r.probe ?? '—', c.probe)}${GAP}${cell(`${r.queued}/${r.delivered}`, EVENTS_W, 'right')}`, ''],
  ];
}

/** The live view for a terminal of `screen`'s size: every line within its width, at most height − 1 lines (the last row stays free so nothing scrolls). */
export function renderFrame(f: Frame, screen: Screen): string[] {
  const c = columns(f.hosts, screen.width);
  const header = [cell('host', c.host), cell('CP mirror', STATE_W), cell('running closure', c.closure), cell('probe', c.probe), cell('queued/acked', EVENTS_W, 'right')].join(GAP);
  const head: Line[] = [[[`nixfleet-agent demo — ${f.title}`, BOLD], [`   ${f.elapsed}`, DIM]], [], [[header, DIM]]];
  const rows = f.hosts.map((r) => hostLine(r, c));
  const budget = Math.max(1, screen.height - 1);
  let body = [...head, ...rows];
  if (body.length > budget) {
    const shown = Math.max(0, budget - head.length - 1);
    body = [...head, ...rows.slice(0, shown), [[`… ${rows.length - shown} more hosts`, DIM]] as Line].slice(0, budget);
  }
  const room = Math.min(EVENT_LINES, budget - body.length - 2);
  if (room > 0) {
    const events = f.events.slice(-room).map((e): Line => [[`  ${e}`, DIM]]);
    body.push([], [['control plane received:', DIM]], ...events, ...Array<Line>(room - events.length).fill([]));
  }
  return body.map((l) => paintLine(fitLine(l, screen.width), screen.color));
}

/** One line per change when stdout is not a terminal: plain text, appended. */
export function plainLine(f: Frame): string {
  return `${f.elapsed}  ${f.title}: ${f.hosts.map((r) => `${r.host}=${r.state ?? '-'}`).join(' ')}`;
}

/**
 * Bytes that replace the previous frame (`previousRows` rows, drawn from the
 * start of a row) with `lines`: up that many rows, each line over a cleared
 * row, then clear to the end of the screen. Clearing after drawing, not from
 * the top-left corner: tmux copies a screen cleared from there into its
 * history, a smear in the scrollback. Null previous rows (the terminal was
 * resized, so old rows may have re-wrapped): clear the screen, draw from the top.
 */
export function redraw(previousRows: number | null, lines: readonly string[]): string {
  const start = previousRows === null ? '\x1b[H\x1b[2J' : previousRows > 0 ? `\x1b[${previousRows}A\r` : '\r';
  return `${start}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`;
}

/** A line cut to `width` cells, the last one an ellipsis when anything was cut. */
export function fitLine(line: Line, width: number): Line {
  if (line.reduce((n, [t]) => n + displayWidth(t), 0) <= width) return line;
  if (width <= 0) return [];
  const out: (readonly [string, string])[] = [];
  let room = width - 1;
  for (const [text, sgr] of line) {
    const cut = cutText(text, room);
    if (cut.text.length < text.length) {
      out.push([`${cut.text}…`, sgr]);
      break;
    }
    out.push([text, sgr]);
    room -= cut.width;
  }
  return out;
}

export function paintLine(line: Line, color: boolean): string {
  return line.map(([text, sgr]) => (color && sgr !== '' && text !== '' ? `\x1b[${sgr}m${text}\x1b[0m` : text)).join('');
}

/** Plain text as one line for `screen`: cut to its width, styled on a terminal. */
export const styled = (text: string, sgr: string, screen: Screen): string => paintLine(fitLine([[text, sgr]], screen.width), screen.color);

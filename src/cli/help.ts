// The help text every command of the binary shares: 80 columns whatever the
// terminal (a long option term gets a line of its own rather than pushing its
// description off screen), defaults as a person reads them, then Examples and
// Exit codes.
import { Help, type Command, type Option } from 'commander';

export const HELP_WIDTH = 80;
/** Terms up to this width share their line with the description (the widest env line then just fits). */
const TERM_COLUMN = 15;
const INDENT = 2;
const GAP = 2;

const UNITS: readonly [number, string][] = [
  [86_400, 'd'],
  [3_600, 'h'],
  [60, 'min'],
];

/** `3600 s (1 h)`, `120 s (2 min)`, `15 s`: the raw value the flag takes, and the same in the largest whole unit. */
export function humanSecs(secs: number): string {
  const unit = UNITS.find(([n]) => secs >= n && secs % n === 0);
  return unit === undefined ? `${secs} s` : `${secs} s (${secs / unit[0]} ${unit[1]})`;
}

/** The description, then one line each for the choices, the default and the environment variable. */
function optionDescription(option: Option): string {
  const lines = [option.description];
  if (option.argChoices !== undefined) lines.push(`one of: ${option.argChoices.join(', ')}`);
  // A flag that is off unless given needs no "default: false".
  const value: unknown = option.defaultValue;
  if (option.defaultValueDescription !== undefined) lines.push(`default: ${option.defaultValueDescription}`);
  else if (value !== undefined && value !== false) lines.push(`default: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (option.envVar !== undefined) lines.push(`env: ${option.envVar}`);
  return lines.filter((s) => s !== '').join('\n');
}

function formatItem(term: string, _termWidth: number, description: string, helper: Help): string {
  const pad = ' '.repeat(INDENT + TERM_COLUMN + GAP);
  if (description === '') return ' '.repeat(INDENT) + term;
  const lines = helper.boxWrap(description, HELP_WIDTH - pad.length).split('\n');
  const head = term.length <= TERM_COLUMN ? [`${' '.repeat(INDENT)}${term.padEnd(TERM_COLUMN)}${' '.repeat(GAP)}${lines.shift() ?? ''}`] : [' '.repeat(INDENT) + term];
  return [...head, ...lines.map((l) => pad + l)].join('\n');
}

export interface HelpSections {
  /** Each: a line saying what it does, then the command (already wrapped to fit). */
  readonly examples: readonly (readonly [string, string])[];
  readonly exitCodes: readonly (readonly [number, string])[];
}

/** A section of `[label, text]` rows, the text wrapped under its own column. */
function section(title: string, rows: readonly string[]): string {
  return `\n${title}\n${rows.join('\n')}\n`;
}

function sectionsText(s: HelpSections): string {
  const help = new Help();
  const wrap = (text: string, indent: number) =>
    help
      .boxWrap(text, HELP_WIDTH - indent)
      .split('\n')
      .map((l) => ' '.repeat(indent) + l)
      .join('\n');
  return (
    section(
      'Examples:',
      s.examples.map(([what, cmd]) => `${wrap(what, INDENT)}\n${cmd.split('\n').map((l) => ' '.repeat(INDENT * 2) + l).join('\n')}`),
    ) + section('Exit codes:', s.exitCodes.map(([code, what]) => `${' '.repeat(INDENT)}${String(code).padEnd(3)}${wrap(what, INDENT + 3).trimStart()}`))
  );
}

/** 80-column help on `command`, with its Examples and Exit codes after the options. */
export function withHelp(command: Command, sections: HelpSections): Command {
  return command
    .configureHelp({ helpWidth: HELP_WIDTH, optionDescription, formatItem })
    .configureOutput({ getOutHelpWidth: () => HELP_WIDTH, getErrHelpWidth: () => HELP_WIDTH })
    .addHelpText('after', sectionsText(sections));
}

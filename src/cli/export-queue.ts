// `nixfleet-agent export-queue`: before a host goes back to the Rust agent,
// write this agent's undelivered events where the Rust agent reads its own
// (src/io/store/upstream-queue-export.ts), so it sends them. Output is for a
// person; every string in it may have come from the CP, so it is escaped.
import { escapeControl } from '../codecs/escape';
import { HELP_WIDTH } from './help';
import { exportUpstreamQueue, type ExportOutcome } from '../io/store/upstream-queue-export';
import { errorMessage } from '../ports/error-text';
import type { StoreLogger } from '../ports/store';

export interface ExportIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly clock: () => string;
}

const fit = (line: string): string => {
  const safe = escapeControl(line);
  return safe.length > HELP_WIDTH ? `${safe.slice(0, HELP_WIDTH - 1)}…` : safe;
};

export function renderExport(outcome: ExportOutcome | undefined, stateDir: string): string {
  if (outcome === undefined) return `${fit(`No agent state in ${stateDir}: nothing to export.`)}\n`;
  const lines = [`Exported ${outcome.exported.length} event(s) to ${outcome.dir}`];
  for (const { event } of outcome.exported) lines.push(`  ${event.rollout_id}  seq ${event.seq}  ${event.event_kind}`);
  if (outcome.exported.length > 0) lines.push('The Rust agent sends them once it runs on this state directory.');
  if (outcome.deadLettered > 0) lines.push(`${outcome.deadLettered} dead letter(s) not exported: the control plane refused them for good.`);
  return `${lines.map(fit).join('\n')}\n`;
}

/** Problems an operator must see; each one line on stderr. */
export function exportWarnings(outcome: ExportOutcome | undefined): string[] {
  if (outcome === undefined) return [];
  const lines: string[] = [];
  if (outcome.unlocked !== undefined) lines.push(`warning: ran without the state directory lock: ${outcome.unlocked}`);
  for (const f of outcome.failed) lines.push(`error: ${f.rolloutId} seq ${f.seq} not exported (kept in the database): ${f.reason}`);
  for (const seq of outcome.seqClashes) {
    lines.push(`warning: more than one queue file has seq ${seq}; the Rust agent sends only one of them (its queue is keyed by seq alone)`);
  }
  return lines.map((l) => `${escapeControl(l)}\n`);
}

/** Runs the export; resolves with the exit code (0 done, 1 failed). */
export async function runExportQueue(stateDir: string, io: ExportIo): Promise<number> {
  const say = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    io.err(`${escapeControl(`${level}: ${message}${fields !== undefined ? ` ${JSON.stringify(fields)}` : ''}`)}\n`);
  const logger: StoreLogger = { info: () => {}, warn: say('warning'), error: say('error') };
  let outcome: ExportOutcome | undefined;
  try {
    outcome = await exportUpstreamQueue(stateDir, logger, io.clock);
  } catch (err) {
    io.err(`${escapeControl(`nixfleet-agent export-queue: ${errorMessage(err)}`)}\n`);
    return 1;
  }
  io.out(renderExport(outcome, stateDir));
  exportWarnings(outcome).forEach(io.err);
  return outcome !== undefined && outcome.failed.length > 0 ? 1 : 0;
}

// `nixfleet-agent status`: what this host's agent knows, read from the state
// store alone (no network), for a person (text) or a script (--json).
// Every string here may have come from the CP (ids, closures, reasons), so
// both outputs go through src/codecs/escape.ts: no raw control character
// reaches the operator's terminal.
import * as E from 'fp-ts/Either';
import { decodeJson } from '../codecs/decode';
import { escapeControl, escapeJsonControl } from '../codecs/escape';
import { HostRolloutState } from '../codecs/host-state';
import { LIVE_STATES as ACTIVE } from '../codecs/protocol';
import { readStateView } from '../io/store/read-only';
import { errorMessage } from '../ports/error-text';
import type { CertificateMeta, ConfirmedClosure, DeadLetter, QueueStats } from '../ports/store';

/** A record, and whether the agent dispatched it itself (bound to a signed intent) or only the CP described it. */
export type StatusRollout = HostRolloutState & { readonly signed: boolean };

export interface StatusReport {
  readonly stateDir: string;
  readonly lastConfirmedClosure?: ConfirmedClosure;
  readonly rollouts: readonly StatusRollout[];
  readonly queue: QueueStats;
  readonly deadLetters: readonly Pick<DeadLetter, 'rolloutId' | 'seq' | 'kind' | 'deadAt' | 'reason'>[];
  readonly certificate?: CertificateMeta;
}

/**
 * Reads the report without changing anything in the state directory;
 * undefined when it holds no database yet. Throws StateReadError (one line:
 * the file, why, what to do) when the database cannot be read.
 */
export function readStatus(stateDir: string): StatusReport | undefined {
  const view = readStateView(stateDir);
  if (view === undefined) return undefined;
  const rollouts = view.rollouts.flatMap((row) => {
    const r = decodeJson(HostRolloutState, row.record);
    return E.isRight(r) ? [{ ...r.right, signed: row.signedIntent !== undefined }] : [];
  });
  return {
    stateDir,
    ...(view.lastConfirmedClosure !== undefined ? { lastConfirmedClosure: view.lastConfirmedClosure } : {}),
    rollouts,
    queue: view.queue,
    deadLetters: view.deadLetters,
    ...(view.certificate !== undefined ? { certificate: view.certificate } : {}),
  };
}

function rolloutLines(r: StatusRollout): string[] {
  const times: [string, string | undefined][] = [
    ['dispatched', r.dispatchedAt],
    ['acknowledged', r.dispatchAckedAt],
    ['activation started', r.activationStartedAt],
    ['activation completed', r.activationCompletedAt],
    ['activation failed', r.activationFailedAt],
    ['soak due', r.soakDueAt],
    ['first probe failure', r.probeFailureFirstAt],
    ['converged', r.convergedAt],
    ['failed', r.failedAt],
    ['reverted', r.revertedAt],
  ];
  const lines = [
    `  ${r.rolloutId}  ${r.state}${ACTIVE.has(r.state) ? '' : ' (done)'}`,
    `    target   ${r.targetClosure}${r.signed ? ' (signed dispatch)' : ' (as the control plane reports it; not dispatched here)'}`,
  ];
  if (r.currentClosureAtDispatch !== undefined) lines.push(`    before   ${r.currentClosureAtDispatch}`);
  if (r.revertedTo !== undefined) lines.push(`    reverted to ${r.revertedTo}`);
  for (const [label, at] of times) if (at !== undefined) lines.push(`    ${label.padEnd(21)} ${at}`);
  if (r.policyApplied !== undefined) lines.push(`    policy applied        ${r.policyApplied}`);
  for (const [name, p] of Object.entries(r.probes)) {
    lines.push(`    probe ${name} (${p.mode}): ${p.status} at ${p.lastObservedAt}${p.failureReason !== undefined ? ` — ${p.failureReason}` : ''}`);
  }
  lines.push(`    last seq ${r.lastEventSeq}`);
  return lines;
}

export function renderStatus(report: StatusReport | undefined, stateDir: string): string {
  if (report === undefined) return `${escapeControl(`No agent state in ${stateDir} yet (the agent has not run here).`)}\n`;
  const active = report.rollouts.filter((r) => ACTIVE.has(r.state));
  const done = report.rollouts.filter((r) => !ACTIVE.has(r.state)).slice(-5);
  const out = [
    `nixfleet-agent status (${report.stateDir})`,
    '',
    `Last confirmed closure: ${report.lastConfirmedClosure ? `${report.lastConfirmedClosure.closure} (since ${report.lastConfirmedClosure.confirmedAt})` : 'none yet'}`,
    `Client certificate:     ${report.certificate ? `serial ${report.certificate.serial}, valid until ${report.certificate.notAfter}` : 'unknown'}`,
    `Outbound queue:         ${report.queue.queued} event(s) waiting, ${report.queue.deadLettered} dead letter(s)`,
    '',
    `Active rollouts (${active.length}):`,
    ...(active.length === 0 ? ['  none'] : active.flatMap(rolloutLines)),
    '',
    `Recent finished rollouts (${done.length}):`,
    ...(done.length === 0 ? ['  none'] : done.flatMap(rolloutLines)),
  ];
  if (report.deadLetters.length > 0) {
    out.push('', 'Dead letters (newest first, never resent):');
    for (const d of report.deadLetters) out.push(`  ${d.rolloutId} seq ${d.seq} ${d.kind} at ${d.deadAt}: ${d.reason}`);
  }
  // Line by line: the line breaks are ours, anything inside a line is escaped.
  return `${out.map(escapeControl).join('\n')}\n`;
}

export function statusJson(report: StatusReport | undefined, stateDir: string): string {
  // JSON.stringify escapes C0 itself; escapeJsonControl adds C1, U+2028/9 and bidi controls.
  if (report === undefined) return `${escapeJsonControl(JSON.stringify({ stateDir, present: false }))}\n`;
  return `${escapeJsonControl(JSON.stringify({ present: true, ...report, rollouts: report.rollouts.map((r) => ({ ...HostRolloutState.encode(r), signed: r.signed })) }, null, 2))}\n`;
}

/** The one line `status` prints on stderr when it cannot read the state (a StateReadError says the file, why, what to do). */
export function statusError(err: unknown): string {
  return `${escapeControl(`nixfleet-agent status: ${errorMessage(err)}`)}\n`;
}

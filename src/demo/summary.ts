// The demo's closing summary as a pure function: per rollout, where each
// host ended and what the CP received from it, and whether all of it is what
// the demo promises. The event lists wrap (they are the point); other lines
// are cut to the screen.
import type { SequenceCheck } from './sequence';
import { wrapWords } from './text';
import { BOLD, DIM, fitLine, paintLine, shortClosure, STATE_SGR, styled, type Line, type Screen } from './view';

export interface SummaryHost {
  readonly host: string;
  readonly state: string | undefined;
  /** The target (Converged) or the rollback target (Reverted) on the CP's record. */
  readonly closure: string | undefined;
  /** What the host tree runs now. */
  readonly runs: string | undefined;
  readonly check: SequenceCheck;
}

export interface SummaryRollout {
  readonly title: string;
  readonly rolloutId: string;
  readonly seconds: number;
  readonly expected: 'Converged' | 'Reverted';
  readonly hosts: readonly SummaryHost[];
}

export interface Summary {
  readonly rollouts: readonly SummaryRollout[];
  readonly queued: number;
  readonly delivered: number;
  readonly elapsed: string;
}

export function renderSummary(s: Summary, screen: Screen): { readonly lines: string[]; readonly ok: boolean } {
  const put = (l: Line) => paintLine(fitLine(l, screen.width), screen.color);
  const lines = [styled('Summary', BOLD, screen), ''];
  let ok = true;
  for (const r of s.rollouts) {
    const id = r.rolloutId.length > 20 ? `${r.rolloutId.slice(0, 19)}…` : r.rolloutId;
    lines.push(put([[r.title, ''], [`  (${id}, ${r.seconds.toFixed(1)} s)`, DIM]]));
    for (const h of r.hosts) {
      ok &&= h.state === r.expected && h.check.ok;
      const state = h.state ?? '—';
      const runs = h.runs === h.closure ? 'which the host runs' : `but the host runs ${shortClosure(h.runs)}`;
      const text = `${r.expected === 'Converged' ? 'on' : 'to'} ${shortClosure(h.closure)}, ${runs}`;
      lines.push(put([[`  ${h.host}  `, ''], [state.padEnd(11), state === r.expected ? (STATE_SGR[state] ?? '') : BOLD], [text, '']]));
    }
    lines.push(...received(r.hosts, screen));
  }
  lines.push('', styled(`Agents queued ${s.queued} events durably and delivered ${s.delivered}; total ${s.elapsed}.`, '', screen));
  lines.push(styled(ok ? 'Both rollouts ended as expected.' : 'Something did not end as expected (see above).', BOLD, screen));
  return { lines, ok };
}

// Hosts whose CP saw the same events share one list.
function received(hosts: readonly SummaryHost[], screen: Screen): string[] {
  const groups = new Map<string, SummaryHost[]>();
  for (const h of hosts) {
    const key = JSON.stringify([h.check.problems, h.check.kinds]);
    groups.set(key, [...(groups.get(key) ?? []), h]);
  }
  const out: string[] = [];
  for (const [, group] of groups) {
    const check = group[0]?.check;
    if (check === undefined) continue;
    const who = group.map((h) => h.host).join(', ');
    out.push(check.ok ? styled(`  ${who}: the CP received each event once, seqs contiguous:`, '', screen) : styled(`  ${who}: ${check.problems.join('; ')}`, BOLD, screen));
    out.push(...wrapWords(compact(check.kinds), screen.width, '    ').map((l) => styled(l, DIM, screen)));
  }
  return out;
}

/** `kind#seq` runs of one kind with consecutive seqs as `kind#first-last`. */
export function compact(kinds: readonly string[]): string[] {
  const out: { kind: string; first: string; last: string }[] = [];
  for (const k of kinds) {
    const [kind = k, seq = ''] = k.split('#');
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.kind === kind && Number(seq) === Number(prev.last) + 1) prev.last = seq;
    else out.push({ kind, first: seq, last: seq });
  }
  return out.map((r) => `${r.kind}#${r.first}${r.first === r.last ? '' : `-${r.last}`}`);
}

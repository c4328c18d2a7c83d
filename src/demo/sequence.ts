// What the control plane received from one host for one rollout, checked the
// way a CP counts it: the events it applied carry seqs 1, 2, 3 … with no gap,
// and no seq was applied twice (a re-sent event is seen as a duplicate).
import type { AgentEvent } from '../codecs/events';

export interface ReceivedEvent {
  readonly event: AgentEvent;
  readonly outcome: string;
}

export interface SequenceCheck {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** `kind#seq` of every applied event, in order. */
  readonly kinds: readonly string[];
  readonly duplicates: number;
}

export function checkSequence(received: readonly ReceivedEvent[]): SequenceCheck {
  const applied = received.filter((r) => r.outcome === 'applied' || r.outcome === 'synthesized');
  const problems: string[] = [];
  const seen = new Set<number>();
  let expected = 1;
  for (const r of applied) {
    const seq = r.event.seq;
    if (seen.has(seq)) problems.push(`seq ${seq} applied twice`);
    else if (seq !== expected) problems.push(`seq ${seq} applied after ${expected - 1} (gap)`);
    seen.add(seq);
    expected = Math.max(expected, seq + 1);
  }
  const rejected = received.filter((r) => r.outcome === 'rejected');
  for (const r of rejected) problems.push(`${r.event.kind}#${r.event.seq} rejected by the CP's step()`);
  return {
    ok: problems.length === 0,
    problems,
    kinds: applied.map((r) => `${r.event.kind}#${r.event.seq}`),
    duplicates: received.filter((r) => r.outcome === 'duplicate').length,
  };
}

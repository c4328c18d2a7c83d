// Runner results (reference agent-runtime.md §10.2): every error is a `fail`,
// and a failure reason is capped at 512 bytes so a chatty probe cannot
// inflate the outbound queue.
import type { ProbeRunResult } from '../../ports/probes';

export const FAILURE_REASON_MAX_LEN = 512;
export const TRUNCATION_MARK = '...[truncated]';

/** At most 512 UTF-8 bytes, cut at a character boundary, then the mark. */
export function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= FAILURE_REASON_MAX_LEN) return reason;
  let end = FAILURE_REASON_MAX_LEN;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + TRUNCATION_MARK;
}

export const pass = (): ProbeRunResult => ({ status: 'pass' });

export const fail = (reason: string): ProbeRunResult => ({ status: 'fail', failureReason: truncateReason(reason) });

// The agent's dispatch-time re-check (upstream freshness.rs `check_signed_at`).
// Upstream calls it with a hard-coded 3600 s and ignores
// `--manifest-freshness-window-secs` (reference agent-runtime §18 item 6);
// here the window is always the caller's configured one.
import * as E from 'fp-ts/Either';
import { elapsedWholeSeconds, type Timestamp } from '../codecs/timestamp';
import { CLOCK_SKEW_SLACK_SECS } from './errors';

/** `DEFAULT_FRESHNESS_WINDOW_SECS`: the agent flag's default. */
export const DEFAULT_FRESHNESS_WINDOW_SECS = 3600;

export interface StaleTarget {
  readonly kind: 'StaleTarget';
  readonly signedAt: Timestamp;
  readonly now: Timestamp;
  readonly freshnessWindowSecs: number;
  readonly ageSecs: number;
  readonly message: string;
}

/**
 * Age in whole seconds, truncated toward zero; stale iff age > window + 60.
 * No future-dated branch (negative ages are fresh), as upstream.
 */
export function checkSignedAt(signedAt: Timestamp, freshnessWindowSecs: number, now: Timestamp): E.Either<StaleTarget, { readonly ageSecs: number }> {
  const ageSecs = elapsedWholeSeconds(signedAt, now);
  if (ageSecs > freshnessWindowSecs + CLOCK_SKEW_SLACK_SECS) {
    return E.left({
      kind: 'StaleTarget',
      signedAt,
      now,
      freshnessWindowSecs,
      ageSecs,
      message: `target signed at ${signedAt} is ${ageSecs}s old (window ${freshnessWindowSecs}s + ${CLOCK_SKEW_SLACK_SECS}s slack)`,
    });
  }
  return E.right({ ageSecs });
}

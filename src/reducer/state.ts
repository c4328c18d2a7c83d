// The only way a host rollout record comes into existence (reference §2.6).
import type { HostRolloutState } from '../codecs/host-state';
import type { Timestamp } from '../codecs/timestamp';

/** Hostname the agent uses for its own records (the CP uses the real hostname). */
export const AGENT_SELF_HOSTNAME = 'self';

export function newPending(
  rolloutId: string,
  hostname: string,
  channel: string,
  targetClosure: string,
  dispatchedAt: Timestamp,
  soakDueAt: Timestamp,
): HostRolloutState {
  return { rolloutId, hostname, channel, state: 'Pending', targetClosure, dispatchedAt, soakDueAt, probes: {}, lastEventSeq: 0 };
}

// Facts of the protocol that the agent and the dev CP both build on, defined
// once so the two ends cannot drift: the long-poll window, the rollout id
// format, and which host states are still live. Imports nothing at run time
// (scalars.ts re-exports from here).
import type { HostState } from './scalars';

/** Upstream's long-poll window: the CP holds `GET /v1/agent/dispatch` at most this long; a larger `wait` is capped. */
export const MAX_WAIT_SECS = 60;

/** `<channel>@<channelRef>` (upstream `RolloutId::new`; the ref is the release's CI commit). */
export const rolloutIdFor = (channel: string, channelRef: string): string => `${channel}@${channelRef}`;

/** Text before the first `@` (the whole id when there is none). */
export function rolloutChannel(id: string): string {
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

/** Text after the first `@` (empty when there is none). */
export function rolloutChannelRef(id: string): string {
  const at = id.indexOf('@');
  return at < 0 ? '' : id.slice(at + 1);
}

// Sets of plain strings so a caller can ask about any text (an absent state
// reads as ''); together they are HOST_STATES (spec/codecs/protocol.spec.ts).

/** States that accept no further event: the record is finished. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set<HostState>(['Converged', 'Failed', 'Reverted']);

/** Every other state: the rollout is still under way on the host (the CP snapshots these at boot recovery). */
export const LIVE_STATES: ReadonlySet<string> = new Set<HostState>(['Pending', 'Activating', 'Deferred', 'Soaking']);

// Dispatches waiting for their host's long-poll: host → rollout id →
// dispatch, oldest first (a Map keeps insertion order). In memory only: the
// planner re-queues whatever is still owed (at-least-once until DispatchAck).
// One entry per (host, rollout): bounded by hosts × open rollouts.
import type { Dispatch } from '../ports/control-plane';

export interface DispatchQueue {
  /** Queue each dispatch (a re-queued one replaces its entry and moves to the back), then wake each host once. */
  enqueue(dispatches: readonly Dispatch[]): void;
  /**
   * The oldest dispatch for `hostname` whose rollout is in `stillOwed` (asked
   * only when something is queued); the stale entries before it are dropped,
   * never delivered.
   */
  take(hostname: string, stillOwed: () => ReadonlySet<string>): Dispatch | undefined;
  clear(): void;
  /** Entries queued over all hosts. */
  readonly size: number;
}

export function createDispatchQueue(onEnqueue: (hostname: string) => void): DispatchQueue {
  const queue = new Map<string, Map<string, Dispatch>>();
  return {
    enqueue(dispatches) {
      const hosts = new Set<string>();
      for (const d of dispatches) {
        let forHost = queue.get(d.hostname);
        if (forHost === undefined) queue.set(d.hostname, (forHost = new Map()));
        forHost.delete(d.rolloutId);
        forHost.set(d.rolloutId, d);
        hosts.add(d.hostname);
      }
      for (const h of hosts) onEnqueue(h);
    },
    take(hostname, stillOwed) {
      const forHost = queue.get(hostname);
      if (forHost === undefined) return undefined;
      const owed = stillOwed();
      for (const [id, d] of forHost) {
        forHost.delete(id);
        if (owed.has(id)) {
          if (forHost.size === 0) queue.delete(hostname);
          return d;
        }
      }
      queue.delete(hostname);
      return undefined;
    },
    clear: () => queue.clear(),
    get size() {
      let n = 0;
      for (const m of queue.values()) n += m.size;
      return n;
    },
  };
}

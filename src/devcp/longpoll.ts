// Parked `GET /v1/agent/dispatch` requests (reference wire-protocol.md
// §4.4): each waits until a dispatch is queued for its host (it re-checks
// the queue, as upstream re-peeks after a kick) or its wait elapses, on the
// injected scheduler. Bounded: at most `capacity` parked polls in total; the
// next one is refused (the route answers 503 and the agent retries after its
// 5 s back-off). Closing wakes every parked poll with `closed`.
import type { SchedulerLike, Subscription } from 'rxjs';

export type ParkOutcome = 'taken' | 'expired' | 'closed' | 'cancelled';

interface Waiter {
  readonly host: string;
  /** Try to take work; true when the waiter is satisfied and must leave. */
  readonly tryTake: () => boolean;
  readonly settle: (outcome: ParkOutcome) => void;
  timer: Subscription | undefined;
}

export interface LongPolls {
  /**
   * Park until `tryTake` succeeds after a kick for `host`, or `waitMs`
   * passes. Returns a cancel function, or undefined when the pool is full.
   */
  park(host: string, waitMs: number, tryTake: () => boolean, settle: (outcome: ParkOutcome) => void): (() => void) | undefined;
  /** Work was queued for `host`: offer it to the host's parked polls, oldest first. */
  kick(host: string): void;
  readonly size: number;
  close(): void;
}

export function createLongPolls(scheduler: SchedulerLike, capacity: number): LongPolls {
  const byHost = new Map<string, Waiter[]>();
  let size = 0;
  let closed = false;

  const remove = (w: Waiter): boolean => {
    const list = byHost.get(w.host);
    const i = list?.indexOf(w) ?? -1;
    if (list === undefined || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) byHost.delete(w.host);
    size -= 1;
    w.timer?.unsubscribe();
    return true;
  };

  return {
    park(host, waitMs, tryTake, settle) {
      if (closed) {
        settle('closed');
        return () => undefined;
      }
      if (size >= capacity) return undefined;
      const w: Waiter = { host, tryTake, settle, timer: undefined };
      const list = byHost.get(host) ?? [];
      list.push(w);
      byHost.set(host, list);
      size += 1;
      w.timer = scheduler.schedule(() => {
        if (remove(w)) settle('expired');
      }, waitMs);
      return () => {
        if (remove(w)) settle('cancelled');
      };
    },
    kick(host) {
      for (const w of [...(byHost.get(host) ?? [])]) {
        if (!w.tryTake()) break; // the queue is empty for this host: the rest stay parked
        if (remove(w)) w.settle('taken');
      }
    },
    get size() {
      return size;
    },
    close() {
      closed = true;
      for (const list of [...byHost.values()]) for (const w of [...list]) if (remove(w)) w.settle('closed');
    },
  };
}

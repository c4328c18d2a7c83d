// A virtual-time SchedulerLike for many graphs at once (the fleet runner and
// the benches): every timer the graphs schedule runs as soon as the caller
// asks for its virtual time, so they are driven as fast as the CPU allows and
// no wall-clock wait happens.
//
// rxjs's own VirtualTimeScheduler is not used here on purpose: it re-sorts its
// whole action queue on every schedule (O(n log n) per timer with 1,000 graphs'
// timers pending) and each periodic re-schedule chains a new action onto the
// previous one, so a long run keeps every past tick alive. Both would be
// charged to the agent. This one keeps a binary heap ordered by (due, arrival)
// and re-uses the action, as rxjs's AsyncAction does on a real clock.
import { noop, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

interface Runnable {
  run(version: number): void;
}

interface Entry {
  readonly due: number;
  readonly order: number;
  readonly action: Runnable;
  readonly version: number;
}

class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  version = 0;
  private state: T | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  // A cancelled run stays in the heap until it comes due: without its work
  // and state it no longer keeps what they reference (a subscriber chain) alive.
  override unsubscribe(): void {
    this.work = noop;
    this.state = undefined;
    super.unsubscribe();
  }

  /** (Re)schedules this action; a pending run is superseded, as with AsyncAction. */
  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.version += 1;
    this.clock.enqueue(this, this.version, delay);
    return this;
  }

  run(version: number): void {
    if (this.closed || version !== this.version) return;
    this.work.call(this, this.state);
  }
}

export class VirtualClock implements SchedulerLike {
  private time: number;
  private order = 0;
  private readonly heap: Entry[] = [];
  /** Actions executed so far. */
  executed = 0;

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ClockAction<T>(this, work).schedule(state, delay);
  }

  /** Runs everything due at or before `untilMs` in (due, arrival) order, then sets the time to `untilMs`. */
  runUntil(untilMs: number): void {
    const heap = this.heap;
    while (heap.length > 0 && (heap[0] as Entry).due <= untilMs) {
      const e = this.pop();
      this.time = e.due;
      this.executed += 1;
      e.action.run(e.version);
    }
    if (untilMs > this.time) this.time = untilMs;
  }

  /** Entries in the heap (superseded and cancelled ones included until they come due). */
  get pending(): number {
    return this.heap.length;
  }

  /** @internal */
  enqueue(action: Runnable, version: number, delay: number): void {
    const entry: Entry = { due: this.time + Math.max(0, delay), order: this.order++, action, version };
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0] as Entry;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && before(heap[r] as Entry, heap[l] as Entry) ? r : l;
        if (!before(heap[child] as Entry, last)) break;
        heap[i] = heap[child] as Entry;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

const before = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.order < b.order);

// A virtual-time SchedulerLike for many graphs at once (the fleet runner and
// the benches): every timer the graphs schedule runs as soon as the caller
// asks for its virtual time, so they are driven as fast as the CPU allows and
// no wall-clock wait happens.
//
// rxjs's own VirtualTimeScheduler is not used here on purpose: it re-sorts its
// whole action queue on every schedule (O(n log n) per timer with 10,000 graphs'
// timers pending) and each periodic re-schedule chains a new action onto the
// previous one, so a long run keeps every past tick alive. Both would be
// charged to the agent. This one keeps the actions themselves in a binary
// heap ordered by (due, arrival): a re-schedule moves the action, as rxjs's
// AsyncAction re-uses itself on a real clock, and a cancelled one leaves the
// heap at once, so the heap holds exactly the live timers (a fleet's memory
// figure counts nothing else).
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** What the heap orders: an action with its place and due time. */
interface Timer {
  index: number;
  due: number;
  order: number;
  run(): void;
}

class ClockAction<T> extends Subscription implements SchedulerAction<T>, Timer {
  /** Position in the clock's heap; -1 when not scheduled. */
  index = -1;
  due = 0;
  order = 0;
  private state: T | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private work: ((this: SchedulerAction<T>, state?: T) => void) | undefined,
  ) {
    super();
  }

  /** (Re)schedules this action; a pending run is superseded, as with AsyncAction. */
  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.clock.place(this, delay);
    return this;
  }

  run(): void {
    this.work?.call(this, this.state);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.clock.remove(this);
    this.work = undefined;
    this.state = undefined;
    super.unsubscribe();
  }
}

export class VirtualClock implements SchedulerLike {
  private time: number;
  private order = 0;
  private readonly heap: Timer[] = [];
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
    while (heap.length > 0 && (heap[0] as Timer).due <= untilMs) {
      const a = heap[0] as Timer;
      this.remove(a);
      this.time = a.due;
      this.executed += 1;
      a.run();
    }
    if (untilMs > this.time) this.time = untilMs;
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.heap.length;
  }

  /** @internal Puts `a` in the heap, due `delay` from now and after everything already due then. */
  place(a: Timer, delay: number): void {
    a.due = this.time + Math.max(0, delay);
    a.order = this.order++;
    if (a.index < 0) {
      a.index = this.heap.length;
      this.heap.push(a);
    }
    this.siftDown(this.siftUp(a.index));
  }

  /** @internal Takes `a` out of the heap (no-op when it is not in it). */
  remove(a: Timer): void {
    const i = a.index;
    if (i < 0) return;
    a.index = -1;
    const last = this.heap.pop() as Timer;
    if (last === a) return;
    this.heap[i] = last;
    this.siftDown(this.siftUp(i));
  }

  private siftUp(i: number): number {
    const heap = this.heap;
    const a = heap[i] as Timer;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Timer;
      if (!before(a, p)) break;
      this.put(p, i);
      i = parent;
    }
    this.put(a, i);
    return i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const a = heap[i] as Timer;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r] as Timer, heap[l] as Timer) ? r : l;
      const c = heap[child] as Timer;
      if (!before(c, a)) break;
      this.put(c, i);
      i = child;
    }
    this.put(a, i);
  }

  private put(t: Timer, i: number): void {
    this.heap[i] = t;
    t.index = i;
  }
}

const before = (a: Timer, b: Timer): boolean => a.due < b.due || (a.due === b.due && a.order < b.order);

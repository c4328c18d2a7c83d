// What the benches add to the in-memory ports of src/testing: queues that
// keep no history (so a long run or 1,000 graphs measure the graph, not the
// queue's log), a CP that dispatches once, and a mirror that times itself.
import { performance } from 'node:perf_hooks';
import { defer, map, of, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { RolloutPolicy } from '../src/codecs/policy';
import type { ControlPlanePort, DeliveryOutcome, Dispatch, DispatchAnswer, HeartbeatAnswer } from '../src/ports/control-plane';
import type { ManifestSet } from '../src/ports/manifests';
import type { ProbeDeclaration } from '../src/ports/probes';
import type { DeadLetter, Enqueued, EnqueueRequest, OutboundQueuePort, QueuedEvent, QueueStats } from '../src/ports/store';
import { inMemoryPorts, policyOf, probe as probeOf, SeqCounters, SharedMirror } from '../src/testing';
import type { RolloutHost } from '../src/devcp/mirror';
import type { AgentPorts } from '../src/streams';

export { manifestSet, MirrorCp } from '../src/testing';

export const policy = (onHealthFailure: RolloutPolicy['onHealthFailure'] = 'halt'): RolloutPolicy => policyOf(onHealthFailure);

export const probe = (name: string, intervalSeconds = 5): ProbeDeclaration => probeOf(name, 'enforce', intervalSeconds);

/** The outbound queue's contract (per-rollout seq, never reused; FIFO), without a history. */
export class LeanQueue extends SeqCounters implements OutboundQueuePort {
  private readonly rows = new Map<number, QueuedEvent>();

  enqueueNow(req: EnqueueRequest): Enqueued {
    const id = this.record(req);
    this.rows.set(id, { id, rolloutId: req.rolloutId, seq: req.seq, kind: req.kind, durable: req.durable, body: JSON.stringify(req.envelope), enqueuedAt: '' });
    return { id, evicted: 0 };
  }
  pending(limit: number): Observable<readonly QueuedEvent[]> {
    return defer(() => {
      const out: QueuedEvent[] = [];
      for (const row of this.rows.values()) {
        if (out.length >= limit) break;
        out.push(row);
      }
      return of(out);
    });
  }
  ack(ids: readonly number[]): Observable<number> {
    return defer(() => {
      let n = 0;
      for (const id of ids) if (this.rows.delete(id)) n += 1;
      return of(n);
    });
  }
  deadLetter(id: number): Observable<boolean> {
    return defer(() => of(this.rows.delete(id)));
  }
  stats(): Observable<QueueStats> {
    return defer(() => of({ queued: this.rows.size, queuedBytes: 0, deadLettered: 0 }));
  }
  deadLetters(): Observable<readonly DeadLetter[]> {
    return defer(() => of([]));
  }
}

/**
 * A queue that keeps nothing: seqs are checked, but no envelope is serialised
 * and the drain always finds it empty. For the graph bench's diagnostic line only
 * (the graph with its outbound path stubbed out).
 */
export class NullQueue extends SeqCounters implements OutboundQueuePort {
  enqueueNow(req: EnqueueRequest): Enqueued {
    return { id: this.record(req), evicted: 0 };
  }
  pending(): Observable<readonly QueuedEvent[]> {
    return of([]);
  }
  ack(): Observable<number> {
    return of(0);
  }
  deadLetter(): Observable<boolean> {
    return of(false);
  }
  stats(): Observable<QueueStats> {
    return of({ queued: 0, queuedBytes: 0, deadLettered: 0 });
  }
  deadLetters(): Observable<readonly DeadLetter[]> {
    return of([]);
  }
}

/** A CP that answers one dispatch after `afterMs`, then holds every long-poll empty; acks every event. */
export class OneDispatchCp implements ControlPlanePort {
  private sent = false;
  constructor(
    private readonly clock: SchedulerLike,
    private readonly dispatchOf: () => Dispatch,
    private readonly afterMs = 1_000,
  ) {}
  dispatch(waitSecs: number): Observable<DispatchAnswer> {
    return defer(() => {
      if (this.sent) return timer(waitSecs * 1000, this.clock).pipe(map((): DispatchAnswer => ({ kind: 'none' })));
      this.sent = true;
      return timer(this.afterMs, this.clock).pipe(map((): DispatchAnswer => ({ kind: 'dispatch', dispatch: this.dispatchOf() })));
    });
  }
  heartbeat(): Observable<HeartbeatAnswer> {
    return defer(() => of({ bootstrapRollouts: [] }));
  }
  postEvent(): Observable<DeliveryOutcome> {
    return defer(() => of<DeliveryOutcome>({ kind: 'acked' }));
  }
}

/** The shared mirror, with the wall time spent inside it (decode, ingest, dispatch lookup). */
export class TimedMirror extends SharedMirror {
  busyMs = 0;
  private timed<T>(f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.busyMs += performance.now() - t0;
    }
  }
  override open(rolloutId: string, channel: string, p: RolloutPolicy, hosts: readonly RolloutHost[]): void {
    this.timed(() => super.open(rolloutId, channel, p, hosts));
  }
  override dispatchFor(host: string): Dispatch | undefined {
    return this.timed(() => super.dispatchFor(host));
  }
  override ingest(body: string): void {
    this.timed(() => super.ingest(body));
  }
}

/** Ports for one agent on the virtual clock. */
export function agentPorts(
  clock: SchedulerLike,
  cp: ControlPlanePort,
  set: ManifestSet,
  probes: readonly ProbeDeclaration[],
  queue: OutboundQueuePort = new LeanQueue(),
  activationMs = 10_000,
): AgentPorts {
  return inMemoryPorts(clock, cp, { manifests: set, probes, queue, activationMs });
}

// probe (reference agent-runtime.md §8.7, §10.5): runs the declared health
// probes for the rollout being soaked and reports what it sees.
//
// Timing rules: on every reset, declare the topology (all probes, disabled
// included), then one task per non-disabled probe: first run at once, then
// every max(intervalSeconds, 5) s; a run still going when the next is due
// makes that tick skip; `runOnce` probes run once. Per task: first run →
// LocalProbeObservedFirst; a move into fail from nothing or pass →
// LocalProbeFailureFirst; every run → LocalProbeResult. A reset replaces the
// previous probe set; a stop for the current rollout ends it (upstream keeps
// probing after terminal states and logs every rejected result). An unusable
// health-checks file fails closed (see INVALID_HEALTH_CHECKS_PROBE); a
// missing one declares nothing (the port completes empty): no topology, no
// probes, as upstream.
import { catchError, defer, EMPTY, filter, mergeMap, Observable, of, Subscriber, switchMap, take, takeUntil, type Subscription } from 'rxjs';
import type { Event } from '../codecs/events';
import type { ProbeStatus } from '../codecs/scalars';
import type { Timestamp } from '../codecs/timestamp';
import type { ProbeDeclaration, ProbePort, ProbeRunResult } from '../ports/probes';
import type { ReducerInput } from '../reducer/agent';
import { errorMessage } from '../ports/error-text';
import { nowOf, type SourceContext } from './context';
import { every } from './time';

export const MIN_PROBE_INTERVAL_SECS = 5;

// A health-checks file that exists but cannot be read or decoded fails
// closed: one enforce probe under this name reports the error on every run,
// so the rollout that shipped the broken file fails its soak and the CP sees
// why. (Upstream runs no probes then, and the host converges unchecked.)
export const INVALID_HEALTH_CHECKS_PROBE = 'health-checks';
const INVALID_HEALTH_CHECKS_KIND = 'health-checks-file';

function invalidDeclarations(reason: string): ProbeDeclaration {
  return { name: INVALID_HEALTH_CHECKS_PROBE, kind: INVALID_HEALTH_CHECKS_KIND, mode: 'enforce', intervalSeconds: 30, runOnce: false, spec: { reason } };
}

/** The port's run, or the fail-closed result for an unusable health-checks file. May throw. */
function runProbe(port: ProbePort, probe: ProbeDeclaration): Observable<ProbeRunResult> {
  if (probe.kind === INVALID_HEALTH_CHECKS_KIND) return of({ status: 'fail', failureReason: `health checks unusable: ${String(probe.spec['reason'])}` });
  return port.run(probe);
}

const runnerError = (err: unknown): ProbeRunResult => ({ status: 'fail', failureReason: `probe runner error: ${errorMessage(err)}` });

export type ProbeCommand = { readonly kind: 'reset'; readonly rolloutId: string } | { readonly kind: 'stop'; readonly rolloutId: string };

interface TaskState {
  readonly runs: number;
  readonly previous?: ProbeStatus;
  readonly events: readonly Event[];
}

/** The events of one run, given what this task saw before (pure). */
export function runEvents(probe: ProbeDeclaration, before: TaskState, result: ProbeRunResult, observedAt: Timestamp): TaskState {
  const { name: probeName, mode } = probe;
  const events: Event[] = [];
  // Fields written out in wire order, the optional ones added only when
  // present: spreads allocated two throw-away objects per run.
  if (before.runs === 0) events.push({ kind: 'LocalProbeObservedFirst', probeName, mode, seq: 0, observedAt });
  if (result.status === 'fail' && before.previous !== 'fail') events.push({ kind: 'LocalProbeFailureFirst', probeName, mode, seq: 0, firstFailedAt: observedAt });
  const outcome: Mutable<Extract<Event, { kind: 'LocalProbeResult' }>> = { kind: 'LocalProbeResult', probeName, mode, seq: 0, status: result.status, observedAt };
  if (result.failureReason !== undefined) outcome.failureReason = result.failureReason;
  if (result.subResults !== undefined) outcome.subResults = [...result.subResults];
  events.push(outcome);
  return { runs: before.runs + 1, previous: result.status, events };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NOTHING_SEEN: TaskState = { runs: 0, events: [] };

/** One probe within a round: what it saw so far and its run in flight. */
class ProbeTask {
  seen = NOTHING_SEEN;
  running: Subscription | undefined;
  constructor(readonly probe: ProbeDeclaration) {}
}

/**
 * The topology (every declared probe), then the runs of the probes not
 * disabled, one timer per period: on each tick every probe of that
 * period starts a run, in declaration order, unless its previous run is
 * still going (that probe skips the tick); `runOnce` probes run on the
 * first tick only. A run's first result yields its events, an error is a
 * failed run, a run that ends without a result yields nothing. Completes
 * when no tick can come and no run is going (only with runOnce probes).
 *
 * Kept hand-written (an exhaustMap per probe by hand, the topology and
 * every run in one source): probe results are most of a soak's inputs. As
 * concat(topology, merge(probes.map(every → exhaustMap(defer, take,
 * catchError, concatMap)))) the graph bench's rollout ran 1.18x slower
 * (2026-12-02). One timer per period rather than per probe: 3 of the 4 probe
 * timers' tasks gone from the bench rollout (clock tasks 2,447 → 1,364).
 */
function probeRounds(port: ProbePort, rolloutId: string, declared: readonly ProbeDeclaration[], ctx: SourceContext): Observable<ReducerInput> {
  return new Observable<ReducerInput>((subscriber) => {
    // The topology first, disabled probes included.
    subscriber.next({
      kind: 'HostEvent',
      rolloutId,
      event: {
        kind: 'LocalProbeTopologyDeclared',
        probes: declared.map((p) => ({ probeName: p.name, kind: p.kind, mode: p.mode })),
        declaredAt: nowOf(ctx.scheduler),
        seq: 0,
      },
    });
    if (subscriber.closed) return undefined;
    const groups = new Map<number, ProbeTask[]>();
    for (const p of declared) {
      if (p.mode === 'disabled') continue;
      const periodMs = p.runOnce ? -1 : Math.max(p.intervalSeconds, MIN_PROBE_INTERVAL_SECS) * 1000;
      const group = groups.get(periodMs);
      if (group === undefined) groups.set(periodMs, [new ProbeTask(p)]);
      else group.push(new ProbeTask(p));
    }
    let timersLeft = groups.size;
    let runsGoing = 0;
    const maybeDone = (): void => {
      if (timersLeft === 0 && runsGoing === 0) subscriber.complete();
    };
    const settle = (task: ProbeTask, observedAt: Timestamp, result: ProbeRunResult | undefined): void => {
      if (result !== undefined) {
        task.seen = runEvents(task.probe, task.seen, result, observedAt);
        for (const event of task.seen.events) subscriber.next({ kind: 'HostEvent', rolloutId, event });
      }
      task.running?.unsubscribe();
      task.running = undefined;
      runsGoing -= 1;
      maybeDone();
    };
    const start = (task: ProbeTask): void => {
      const observedAt = nowOf(ctx.scheduler);
      runsGoing += 1;
      let run: Observable<ProbeRunResult>;
      try {
        run = runProbe(port, task.probe);
      } catch (err) {
        settle(task, observedAt, runnerError(err));
        return;
      }
      const runner = new RunSubscriber(task, observedAt, settle);
      const sub = run.subscribe(runner);
      if (runner.settled) sub.unsubscribe();
      else task.running = sub;
    };
    const timers = [...groups].map(([periodMs, group]) =>
      (periodMs < 0 ? of(0) : every(ctx, periodMs)).subscribe({
        next: () => {
          for (const task of group) if (task.running === undefined && !subscriber.closed) start(task);
        },
        complete: () => {
          timersLeft -= 1;
          maybeDone();
        },
      }),
    );
    maybeDone(); // nothing to run: the set is done once declared
    return () => {
      for (const t of timers) t.unsubscribe();
      for (const group of groups.values()) for (const task of group) task.running?.unsubscribe();
    };
  });
}

function probeSet(port: ProbePort, rolloutId: string, ctx: SourceContext): Observable<ReducerInput> {
  // Upstream's probe test mode sends no topology and starts no tickers.
  if (port.testMode?.() === true) return EMPTY;
  return defer(() => port.declarations()).pipe(
    take(1),
    catchError((err: unknown) => {
      ctx.logger.error('health checks unusable; failing the soak until they are fixed', { error: errorMessage(err) });
      return of<readonly ProbeDeclaration[]>([invalidDeclarations(errorMessage(err))]);
    }),
    mergeMap((probes) => probeRounds(port, rolloutId, probes, ctx)),
  );
}

export function probeWorker(port: ProbePort, commands$: Observable<ProbeCommand>, ctx: SourceContext): Observable<ReducerInput> {
  let current: string | undefined;
  return commands$.pipe(
    filter((cmd) => cmd.kind === 'reset' || cmd.rolloutId === current),
    switchMap((cmd) => {
      current = cmd.kind === 'reset' ? cmd.rolloutId : undefined;
      return cmd.kind === 'reset' ? probeSet(port, cmd.rolloutId, ctx) : EMPTY;
    }),
    takeUntil(ctx.shutdown$),
  );
}

/**
 * Hands a run's notifications to `settle`, once (an error as a failed run, a
 * completion as "no result"). One object per run, where an observer of three
 * closures made rxjs add a SafeSubscriber and a ConsumerObserver: 0.8% of the
 * graph bench rollout's instructions (cachegrind, 2026-12-02).
 */
class RunSubscriber extends Subscriber<ProbeRunResult> {
  settled = false;
  constructor(
    private readonly task: ProbeTask,
    private readonly observedAt: Timestamp,
    private readonly onSettled: (task: ProbeTask, observedAt: Timestamp, result: ProbeRunResult | undefined) => void,
  ) {
    super();
  }

  private settle(result: ProbeRunResult | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled(this.task, this.observedAt, result);
  }

  protected override _next(result: ProbeRunResult): void {
    this.settle(result);
  }

  protected override _error(err: unknown): void {
    try {
      this.settle(runnerError(err));
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.settle(undefined);
    } finally {
      this.unsubscribe();
    }
  }
}

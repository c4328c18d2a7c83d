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
import { catchError, concat, defer, EMPTY, filter, merge, mergeMap, Observable, of, Subscriber, switchMap, take, takeUntil, type Subscription } from 'rxjs';
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
  const base = { probeName: probe.name, mode: probe.mode, seq: 0 } as const;
  const events: Event[] = [];
  if (before.runs === 0) events.push({ kind: 'LocalProbeObservedFirst', ...base, observedAt });
  if (result.status === 'fail' && before.previous !== 'fail') events.push({ kind: 'LocalProbeFailureFirst', ...base, firstFailedAt: observedAt });
  events.push({
    kind: 'LocalProbeResult',
    ...base,
    status: result.status,
    observedAt,
    ...(result.failureReason !== undefined ? { failureReason: result.failureReason } : {}),
    ...(result.subResults !== undefined ? { subResults: [...result.subResults] } : {}),
  });
  return { runs: before.runs + 1, previous: result.status, events };
}

/**
 * One probe's runs: each tick starts a run unless one is still going (that
 * tick is skipped); a run's first result yields its events, an error is a
 * failed run, a run that ends without a result yields nothing.
 *
 * Kept hand-written (an exhaustMap by hand): probe results are most of a
 * soak's inputs, and as exhaustMap(defer, take, catchError, concatMap) per
 * run the graph bench's rollout ran 1.18x slower (2026-12-02).
 */
function task(port: ProbePort, rolloutId: string, probe: ProbeDeclaration, ctx: SourceContext): Observable<ReducerInput> {
  const periodMs = Math.max(probe.intervalSeconds, MIN_PROBE_INTERVAL_SECS) * 1000;
  const ticks = probe.runOnce ? of(0) : every(ctx, periodMs);
  return new Observable<ReducerInput>((subscriber) => {
    let seen: TaskState = { runs: 0, events: [] };
    let running: Subscription | undefined;
    let ticksDone = false;
    const start = (): void => {
      const observedAt = nowOf(ctx.scheduler);
      let done = false;
      const settle = (result: ProbeRunResult | undefined): void => {
        if (done) return;
        done = true;
        if (result !== undefined) {
          seen = runEvents(probe, seen, result, observedAt);
          for (const event of seen.events) subscriber.next({ kind: 'HostEvent', rolloutId, event });
        }
        running?.unsubscribe();
        running = undefined;
        if (ticksDone) subscriber.complete();
      };
      let run: Observable<ProbeRunResult>;
      try {
        run = runProbe(port, probe);
      } catch (err) {
        settle(runnerError(err));
        return;
      }
      const sub = run.subscribe(new RunSubscriber(settle));
      if (done) sub.unsubscribe();
      else running = sub;
    };
    const tickSub = ticks.subscribe({
      next: () => {
        if (running === undefined) start();
      },
      complete: () => {
        ticksDone = true;
        if (running === undefined) subscriber.complete();
      },
    });
    return () => {
      tickSub.unsubscribe();
      running?.unsubscribe();
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
    mergeMap((probes) =>
      concat(
        of<ReducerInput>({
          kind: 'HostEvent',
          rolloutId,
          event: {
            kind: 'LocalProbeTopologyDeclared',
            probes: probes.map((p) => ({ probeName: p.name, kind: p.kind, mode: p.mode })),
            declaredAt: nowOf(ctx.scheduler),
            seq: 0,
          },
        }),
        merge(...probes.filter((p) => p.mode !== 'disabled').map((p) => task(port, rolloutId, p, ctx))),
      ),
    ),
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
 * Hands a run's notifications to `settle` (an error as a failed run, a
 * completion as "no result"). One object per run, where an observer of three
 * closures made rxjs add a SafeSubscriber and a ConsumerObserver: 0.8% of the
 * graph bench rollout's instructions (cachegrind, 2026-12-02).
 */
class RunSubscriber extends Subscriber<ProbeRunResult> {
  constructor(private readonly settle: (result: ProbeRunResult | undefined) => void) {
    super();
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

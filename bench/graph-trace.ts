// A trace of everything the graph does that anyone outside it can see, over a
// set of rollouts in virtual time: every reducer input with its `now`, every
// effect, every port call (subscribe, answer, error, completion,
// cancellation) with its virtual time, every log line. A plumbing change that
// must not change behaviour (the graph bench's speed work) records the trace
// before and after and compares the two byte for byte:
//
//   node <compiled>/bench/graph-trace.js > before.txt   (on the old code)
//   node <compiled>/bench/graph-trace.js > after.txt    (on the new code)
//   cmp before.txt after.txt
//
// The scenarios: the graph bench's two rollouts (bench/graph.ts), a probe
// that fails into a rollback, a CP that answers retry / poison / nothing
// (the 10 s POST timeout), slow and throwing probes, a stop mid-soak, and a
// small fleet through the dev CP's mirror.
import { createHash } from 'node:crypto';
import { Observable, of, throwError, timer, map, type SchedulerLike } from 'rxjs';
import { fromEpochMillis } from '../src/codecs/timestamp';
import type { ControlPlanePort, DeliveryOutcome } from '../src/ports/control-plane';
import type { Logger } from '../src/ports/logger';
import type { ProbeRunResult } from '../src/ports/probes';
import { createAgentGraph, type AgentPorts, type StopResult } from '../src/streams';
import { FakeControlPlane, inMemoryPorts, manifestSet, MemoryQueue, probe, virtualFleet, VirtualClock } from '../src/testing';
import { DEFAULT_SCENARIO, SPEC_SCENARIO, type GraphScenario } from './graph';
import { LeanQueue, OneDispatchCp } from './ports';

type Line = (text: string) => void;

// Observables and functions in arguments (a cancel signal) print as their kind.
const show = (v: unknown): string =>
  v === undefined ? 'undefined' : JSON.stringify(v, (_k, x: unknown) => (x instanceof Observable ? '<observable>' : typeof x === 'function' ? '<function>' : x));

/** Every method of `port` that returns an Observable is traced from subscribe to its end; the others by call and result. */
function traced<T extends object>(name: string, port: T, clock: SchedulerLike, line: Line): T {
  return new Proxy(port, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function' || typeof key !== 'string') return v;
      return (...args: unknown[]) => {
        const what = `${name}.${key}(${args.map(show).join(', ')})`;
        let out: unknown;
        try {
          out = (v as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          line(`${clock.now()} ${what} threw ${String(err)}`);
          throw err;
        }
        if (!(out instanceof Observable)) {
          line(`${clock.now()} ${what} -> ${show(out)}`);
          return out;
        }
        const source = out as Observable<unknown>;
        return new Observable<unknown>((subscriber) => {
          line(`${clock.now()} ${what} subscribed`);
          let ended = false;
          const sub = source.subscribe({
            next: (x) => {
              line(`${clock.now()} ${what} next ${show(x)}`);
              subscriber.next(x);
            },
            error: (e: unknown) => {
              ended = true;
              line(`${clock.now()} ${what} error ${String(e)}`);
              subscriber.error(e);
            },
            complete: () => {
              ended = true;
              line(`${clock.now()} ${what} complete`);
              subscriber.complete();
            },
          });
          return () => {
            if (!ended) line(`${clock.now()} ${what} cancelled`);
            sub.unsubscribe();
          };
        });
      };
    },
  });
}

function logger(clock: SchedulerLike, line: Line): Logger {
  const at = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => line(`${clock.now()} log ${level} ${message} ${show(fields)}`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface Setup {
  readonly clock: VirtualClock;
  readonly ports: AgentPorts;
  /** How long to run before stop(). */
  readonly runMs: number;
}

/** One graph over `setup`'s ports, every port traced; stop() after runMs. `watchStates`: states$ too, before start and after stop. */
function runOne(setup: Setup, line: Line, watchStates = false): void {
  const { clock } = setup;
  const p = setup.ports;
  const ports: AgentPorts = {
    cp: traced('cp', p.cp, clock, line),
    manifests: traced('manifests', p.manifests, clock, line),
    activation: traced('activation', p.activation, clock, line),
    probes: traced('probes', p.probes, clock, line),
    host: traced('host', p.host, clock, line),
    cert: traced('cert', p.cert, clock, line),
    queue: traced('queue', p.queue, clock, line),
  };
  const graph = createAgentGraph({ ports, config: { machineId: 'web-01' }, scheduler: clock, logger: logger(clock, line) });
  graph.inputs$.subscribe((i) => line(`${clock.now()} input ${show(i)}`));
  graph.effects$.subscribe((e) => line(`${clock.now()} effect ${show(e)}`));
  const states = (name: string) =>
    graph.states$.subscribe({ next: (s) => line(`${clock.now()} ${name} ${show(s.hosts)}`), complete: () => line(`${clock.now()} ${name} complete`) });
  if (watchStates) states('states');
  graph.start();
  clock.runUntil(setup.runMs);
  let stopped: StopResult | undefined;
  graph.stop().subscribe((r) => (stopped = r));
  clock.runUntil(setup.runMs + 30_000);
  line(`${clock.now()} stopped ${stopped ?? 'not'} pending timers ${clock.pending}`);
  if (watchStates) states('states after stop');
  line(`${clock.now()} state ${show(graph.state().hosts)}`);
}

const DISPATCH_AT_MS = 1_000;

function benchSetup(sc: GraphScenario, cp: (clock: VirtualClock) => ControlPlanePort = (clock) => oneDispatch(clock, sc), extra: Partial<Parameters<typeof inMemoryPorts>[2]> = {}): Setup {
  const clock = new VirtualClock(0);
  const probes = Array.from({ length: sc.probes }, (_, i) => probe(`probe-${i}`, 'enforce', 5));
  const ports = inMemoryPorts(clock, cp(clock), { manifests: manifestSet(), probes, queue: new LeanQueue(), ...extra });
  return { clock, ports, runMs: DISPATCH_AT_MS + 10_000 + sc.soakSecs * 1000 + 5_000 };
}

function oneDispatch(clock: VirtualClock, sc: GraphScenario): ControlPlanePort {
  const soakDueMs = DISPATCH_AT_MS + 10_000 + sc.soakSecs * 1000;
  return new OneDispatchCp(
    clock,
    () => ({ hostname: 'web-01', rolloutId: 'stable@r1', targetClosure: 'target-closure', soakDueAt: fromEpochMillis(soakDueMs), enqueuedAt: fromEpochMillis(clock.now()) }),
    DISPATCH_AT_MS,
  );
}

/** A one-dispatch CP whose event POSTs answer from `answer` (by call number, from 0). */
class ScriptedPostCp implements ControlPlanePort {
  private posts = 0;
  constructor(
    private readonly inner: ControlPlanePort,
    private readonly answer: (n: number) => Observable<DeliveryOutcome>,
  ) {}
  dispatch(waitSecs: number) {
    return this.inner.dispatch(waitSecs);
  }
  heartbeat(req: Parameters<ControlPlanePort['heartbeat']>[0]) {
    return this.inner.heartbeat(req);
  }
  postEvent() {
    return this.answer(this.posts++);
  }
}

const SHORT: GraphScenario = { probes: 2, soakSecs: 120 };

const SCENARIOS: Record<string, (line: Line) => void> = {
  'bench default rollout': (line) => runOne(benchSetup(DEFAULT_SCENARIO), line),
  'bench spec rollout': (line) => runOne(benchSetup(SPEC_SCENARIO), line),
  'probe fails into rollback': (line) => {
    const s = benchSetup({ probes: 3, soakSecs: 600 }, undefined, { manifests: manifestSet('rollback-and-halt') });
    const probes = s.ports.probes as unknown as { result: (name: string, now: number) => ProbeRunResult };
    probes.result = (name, now) => (name === 'probe-1' && now > 40_000 ? { status: 'fail', failureReason: 'exit 1' } : { status: 'pass' });
    runOne(s, line, true);
  },
  'CP answers retry, poison, and nothing': (line) => {
    const s = benchSetup(SHORT, (clock) => {
      const inner = oneDispatch(clock, SHORT);
      return new ScriptedPostCp(inner, (n) => {
        if (n % 7 === 3) return of<DeliveryOutcome>({ kind: 'retry', reason: 'HTTP 503' });
        if (n % 11 === 5) return of<DeliveryOutcome>({ kind: 'poison', status: 422, reason: 'HTTP 422: bad' });
        if (n % 13 === 6) return new Observable<DeliveryOutcome>(() => undefined); // the 10 s timeout
        if (n % 17 === 8) return throwError(() => new Error('connection reset'));
        if (n % 19 === 9) return timer(3_000, clock).pipe(map((): DeliveryOutcome => ({ kind: 'acked' })));
        return of<DeliveryOutcome>({ kind: 'acked' });
      });
    });
    runOne(s, line);
  },
  'slow and throwing probes': (line) => {
    const s = benchSetup({ probes: 3, soakSecs: 90 });
    const port = s.ports.probes as unknown as { run: (p: { name: string }) => Observable<ProbeRunResult> };
    let n = 0;
    port.run = (p) => {
      n += 1;
      if (p.name === 'probe-0') return timer(7_000, s.clock).pipe(map((): ProbeRunResult => ({ status: 'pass' })));
      if (p.name === 'probe-1' && n % 3 === 0) throw new Error('runner exploded');
      if (p.name === 'probe-2' && n % 4 === 0) return throwError(() => new Error('run failed'));
      return of<ProbeRunResult>({ status: 'pass' });
    };
    runOne(s, line);
  },
  'stop mid-soak with a queue': (line) => {
    const s = benchSetup({ probes: 2, soakSecs: 600 }, undefined, { queue: new MemoryQueue() });
    runOne({ ...s, runMs: 60_000 }, line);
  },
  'scripted CP: heartbeat kicks, long-poll none': (line) => {
    const clock = new VirtualClock(0);
    const cp = new FakeControlPlane(clock);
    cp.holdMs = 20_000;
    const ports = inMemoryPorts(clock, cp, { probes: [probe('p', 'enforce', 5)] });
    runOne({ clock, ports, runMs: 200_000 }, line, true);
  },
  'fleet of 4 through the mirror': (line) => {
    const clock = new VirtualClock(0);
    const fleet = virtualFleet({
      clock,
      hosts: ['a', 'b', 'c', 'd'],
      probes: [probe('p0', 'enforce', 5), probe('p1', 'enforce', 10)],
      probeResult: (r) => (r.host === 'c' && r.atMs > 30_000 ? { status: 'fail', failureReason: 'down' } : { status: 'pass' }),
      logger: (host) => logger(clock, (t) => line(`${host} ${t}`)),
    });
    for (const [host, a] of fleet.agents) {
      a.graph.inputs$.subscribe((i) => line(`${host} ${fleet.clock.now()} input ${show(i)}`));
      a.graph.effects$.subscribe((e) => line(`${host} ${fleet.clock.now()} effect ${show(e)}`));
    }
    fleet.start();
    const { rolloutId } = fleet.release({ a: 'a-new', b: 'b-new', c: 'c-new', d: 'd-new' }, { soakMinutes: 2 });
    fleet.runFor(400_000);
    line(`${JSON.stringify(fleet.states(rolloutId))}`);
    line(`${JSON.stringify(fleet.flush())}`);
  },
};

if (require.main === module) {
  const out: string[] = [];
  for (const [name, run] of Object.entries(SCENARIOS)) {
    out.push(`== ${name}`);
    run((t) => out.push(t));
  }
  const text = out.join('\n') + '\n';
  process.stdout.write(text);
  process.stderr.write(`graph trace: ${out.length} lines, sha256 ${createHash('sha256').update(text).digest('hex')}\n`);
}

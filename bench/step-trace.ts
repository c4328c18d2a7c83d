// Row 1: step() events per second on an event trace, against a bare loop that
// walks the same trace and only copies the same objects (the state record and
// the event, as any immutable reducer must at least do). The ratio is the
// cost of the state machine itself.
//
// Two traces:
// - recorded: every case of spec/vectors/derived/step-traces/sample.jsonl
//   (what upstream's step() was run on: 483 cases, 2,605 events, about half of
//   them rejected on purpose — legality matrix, stale seqs, random sequences);
// - synthetic: rollouts as a host lives them (dispatch, activation, a soak of
//   probe results every 5 s, converge; one in ten fails its probes and rolls
//   back), generated here, so the bench also runs without the vectors.
//
// Standalone: node node_modules/.cache/nixfleet-bench/bench/step-trace.js [--quick]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import type * as t from 'io-ts';
import { decodeWith } from '../src/codecs/decode';
import { Event } from '../src/codecs/events';
import { HostRolloutState } from '../src/codecs/host-state';
import { RolloutPolicy } from '../src/codecs/policy';
import { fromEpochMillis, TimestampCodec, type Timestamp } from '../src/codecs/timestamp';
import { newPending } from '../src/reducer/state';
import { step } from '../src/reducer/step';
import { calibrate, consume, interleave, printTable, rateRow, type Pair, type Row } from './lib';
import { policy } from './ports';
import { vectorsDir } from './paths';

export interface TraceCase {
  readonly name: string;
  readonly policy: RolloutPolicy;
  readonly initial: HostRolloutState;
  readonly steps: readonly { readonly now: Timestamp; readonly event: Event }[];
}

function must<A>(codec: t.Type<A, unknown, unknown>, u: unknown, where: string): A {
  const r = decodeWith(codec, u);
  if (E.isLeft(r)) throw new Error(`${where}: ${r.left.message}`);
  return r.right;
}

export const RECORDED_TRACE = 'derived/step-traces/sample.jsonl';

/** The recorded trace, decoded through the real codecs; undefined when the vectors are absent. */
export function recordedTrace(): TraceCase[] | undefined {
  const dir = vectorsDir();
  const file = dir === undefined ? undefined : path.join(dir, RECORDED_TRACE);
  if (file === undefined || !fs.existsSync(file)) return undefined;
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line, i) => {
      const c = JSON.parse(line) as { name: string; policy: unknown; initial: unknown; steps: { now: unknown; event: unknown }[] };
      const where = `${RECORDED_TRACE}:${i + 1}`;
      return {
        name: c.name,
        policy: must(RolloutPolicy, c.policy, where),
        initial: must(HostRolloutState, c.initial, where),
        steps: c.steps.map((s) => ({ now: must(TimestampCodec, s.now, where), event: must(Event, s.event, where) })),
      };
    });
}

/** A small deterministic PRNG (mulberry32), so the synthetic trace is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  readonly rollouts?: number;
  readonly probes?: number;
  readonly soakSecs?: number;
  /** Fraction of rollouts whose probes fail for good (they roll back). */
  readonly failing?: number;
  readonly seed?: number;
}

/** Rollouts as a host lives them; every event is accepted by step() (checked). */
export function syntheticTrace(opts: SyntheticOptions = {}): TraceCase[] {
  const { rollouts = 40, probes = 3, soakSecs = 600, failing = 0.1, seed = 1 } = opts;
  const rnd = prng(seed);
  const cases: TraceCase[] = [];
  for (let r = 0; r < rollouts; r++) {
    const base = Date.UTC(2026, 4, 1) + r * 3_600_000;
    const at = (ms: number) => fromEpochMillis(base + ms);
    const rolloutId = `stable@${(0x1000000 + r).toString(16)}`;
    const target = `${r}-nixos-system-web-01-25.05`;
    const fails = rnd() < failing;
    const pol = policy(fails ? 'rollback-and-halt' : 'halt');
    const soakDueAt = at(10_000 + soakSecs * 1000);
    const steps: { now: Timestamp; event: Event }[] = [];
    let seq = 0;
    const push = (ms: number, e: Event) => steps.push({ now: at(ms), event: { ...e, seq: ++seq } as Event });
    const names = Array.from({ length: probes }, (_, i) => `probe-${i}`);
    push(1_000, { kind: 'LocalActivate', currentClosureAtDispatch: 'prior-closure', targetClosure: target, receivedAt: at(1_000), soakDueAt, seq: 0 });
    push(1_001, { kind: 'LocalActivationStarted', startedAt: at(1_001), switchMethod: 'switch-to-configuration', seq: 0 });
    push(10_000, { kind: 'LocalActivationCompleted', observedCurrentClosure: target, exitCode: 0, completedAt: at(10_000), seq: 0 });
    push(10_001, { kind: 'LocalProbeTopologyDeclared', probes: names.map((probeName) => ({ probeName, kind: 'exec', mode: 'enforce' })), declaredAt: at(10_001), seq: 0 });
    for (const probeName of names) push(10_002, { kind: 'LocalProbeObservedFirst', probeName, mode: 'enforce', observedAt: at(10_002), seq: 0 });
    // A failing rollout: probe-0 fails from a random round on; 120 s later the fail gate trips.
    const failFrom = fails ? 10_000 + Math.floor(rnd() * soakSecs * 500) : Infinity;
    let ms = 10_002;
    let failedAt: number | undefined;
    for (; ms <= 10_000 + soakSecs * 1000; ms += 5_000) {
      for (const probeName of names) {
        const failingNow = probeName === 'probe-0' && ms >= failFrom;
        if (failingNow && failedAt === undefined) {
          failedAt = ms;
          push(ms, { kind: 'LocalProbeFailureFirst', probeName, mode: 'enforce', firstFailedAt: at(ms), seq: 0 });
        }
        push(ms, {
          kind: 'LocalProbeResult',
          probeName,
          mode: 'enforce',
          status: failingNow ? 'fail' : 'pass',
          observedAt: at(ms),
          ...(failingNow ? { failureReason: 'exit status 1' } : {}),
          seq: 0,
        });
      }
      if (failedAt !== undefined && ms - failedAt >= 120_000) break;
    }
    if (failedAt !== undefined) {
      push(ms + 1, { kind: 'LocalSustainedFailureCrossed', failedAt: at(ms + 1), sustainedDurationSecs: Math.floor((ms + 1 - failedAt) / 1000), failingProbes: ['probe-0'], policyApplied: 'rollback-and-halt', seq: 0 });
      push(ms + 10_000, { kind: 'LocalRollbackCompleted', revertedToClosure: 'prior-closure', exitCode: 0, completedAt: at(ms + 10_000), seq: 0 });
    } else {
      push(ms, { kind: 'LocalConvergedReached', convergedAt: at(ms), currentClosure: target, seq: 0 });
    }
    cases.push({ name: `synthetic/${r}${fails ? '-rollback' : ''}`, policy: pol, initial: newPending(rolloutId, 'self', 'stable', target, at(0), soakDueAt), steps });
  }
  // A generator bug must not turn into a benchmark of rejections.
  for (const c of cases) {
    let s = c.initial;
    for (const st of c.steps) {
      const r = step(s, st.event, c.policy, st.now);
      if (E.isLeft(r)) throw new Error(`synthetic trace ${c.name}: ${st.event.kind} rejected: ${r.left.message}`);
      s = r.right.state;
    }
    const end = c.name.endsWith('-rollback') ? 'Reverted' : 'Converged';
    if (s.state !== end) throw new Error(`synthetic trace ${c.name} ends ${s.state}, not ${end}`);
  }
  return cases;
}

/** step() over every case once; returns the number of events. */
export function replayStep(cases: readonly TraceCase[]): number {
  let n = 0;
  let acc = 0;
  for (const c of cases) {
    let s = c.initial;
    for (const st of c.steps) {
      const r = step(s, st.event, c.policy, st.now);
      if (r._tag === 'Right') s = r.right.state;
      n += 1;
    }
    acc += s.lastEventSeq;
  }
  consume(acc);
  return n;
}

/** The same walk, copying the state record and the event instead of stepping. */
export function replayCopy(cases: readonly TraceCase[]): number {
  let n = 0;
  let acc = 0;
  let last: Event | undefined;
  for (const c of cases) {
    let s = c.initial;
    for (const st of c.steps) {
      last = { ...st.event };
      s = { ...s, lastEventSeq: last.seq };
      n += 1;
    }
    acc += s.lastEventSeq;
  }
  consume([acc, last]);
  return n;
}

export interface StepBenchOptions {
  readonly blocks: number;
  readonly blockMs: number;
}

export function stepBench(cases: readonly TraceCase[], opts: StepBenchOptions): Pair {
  const reps = calibrate(() => replayStep(cases), opts.blockMs);
  const copyReps = calibrate(() => replayCopy(cases), opts.blockMs);
  const times = (k: number, f: () => number) => () => {
    let n = 0;
    for (let i = 0; i < k; i++) n += f();
    return n;
  };
  return interleave(times(reps, () => replayStep(cases)), times(copyReps, () => replayCopy(cases)), opts.blocks);
}

export const traceStats = (cases: readonly TraceCase[]) => {
  let events = 0;
  let accepted = 0;
  for (const c of cases) {
    let s = c.initial;
    for (const st of c.steps) {
      events += 1;
      const r = step(s, st.event, c.policy, st.now);
      if (E.isRight(r)) {
        accepted += 1;
        s = r.right.state;
      }
    }
  }
  return { cases: cases.length, events, accepted };
};

/** The table rows of this bench: the recorded trace (when the vectors are there) and the synthetic one. */
export function stepRows(quick: boolean): Row[] {
  const opts: StepBenchOptions = quick ? { blocks: 5, blockMs: 60 } : { blocks: 15, blockMs: 150 };
  const rows: Row[] = [];
  const recorded = recordedTrace();
  if (recorded !== undefined) {
    const st = traceStats(recorded);
    rows.push(rateRow(`step() vs copy loop, upstream's recorded trace (${st.events.toLocaleString('en-US')} ev, ${Math.round((100 * st.accepted) / st.events)}% accepted)`, stepBench(recorded, opts), undefined));
  }
  const synthetic = syntheticTrace();
  const st = traceStats(synthetic);
  rows.push(rateRow(`step() vs copy loop, synthetic rollouts (${st.events.toLocaleString('en-US')} ev, all accepted)`, stepBench(synthetic, opts), undefined));
  return rows;
}

if (require.main === module) {
  printTable(stepRows(process.argv.includes('--quick')));
}

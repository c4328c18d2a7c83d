// Shared by the bench rows: side-by-side measurement in interleaved blocks,
// the result table, and the machine description. Absolute rates on a shared
// machine are noise; the ratio of two things measured in alternating blocks
// of the same run is what each row reports.
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';

export interface Pair {
  /** units per second, over all blocks */
  readonly ours: number;
  readonly baseline: number;
  /** median over blocks of (ours rate / baseline rate) */
  readonly ratio: number;
  readonly blocks: number;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** Wall time of `f` in seconds and what it returned. */
export function timed<T>(f: () => T): { readonly value: T; readonly seconds: number } {
  const t0 = performance.now();
  const value = f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Runs `ours` and `baseline` in alternating blocks (AB, BA, AB, … so neither
 * always goes first). Each returns how many units it processed.
 */
export function interleave(ours: () => number, baseline: () => number, blocks: number, warmupBlocks = 1): Pair {
  for (let i = 0; i < warmupBlocks; i++) {
    ours();
    baseline();
  }
  let oursUnits = 0;
  let oursSecs = 0;
  let baseUnits = 0;
  let baseSecs = 0;
  const ratios: number[] = [];
  for (let i = 0; i < blocks; i++) {
    let a: { value: number; seconds: number };
    let b: { value: number; seconds: number };
    if (i % 2 === 0) {
      a = timed(ours);
      b = timed(baseline);
    } else {
      b = timed(baseline);
      a = timed(ours);
    }
    oursUnits += a.value;
    oursSecs += a.seconds;
    baseUnits += b.value;
    baseSecs += b.seconds;
    ratios.push(a.value / a.seconds / (b.value / b.seconds));
  }
  return { ours: oursUnits / oursSecs, baseline: baseUnits / baseSecs, ratio: median(ratios), blocks };
}

/** How many repetitions of `f` fill about `targetMs`. */
export function calibrate(f: () => unknown, targetMs: number): number {
  const t = timed(f).seconds * 1000;
  return Math.max(1, Math.round(targetMs / Math.max(t, 0.01)));
}

export interface Row {
  readonly name: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: string;
}

export type Target = { readonly atLeast: number } | undefined;

export const fmtRate = (x: number): string => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')}` : '—');

export function verdictOf(ratio: number, target: Target): string {
  if (target === undefined) return 'info';
  return ratio >= target.atLeast ? 'ok' : 'BELOW';
}

export function rateRow(name: string, pair: Pair, target: Target): Row {
  return {
    name,
    ours: fmtRate(pair.ours),
    baseline: fmtRate(pair.baseline),
    ratio: pair.ratio.toFixed(2),
    target: target === undefined ? '—' : `>= ${target.atLeast}`,
    verdict: verdictOf(pair.ratio, target),
  };
}

/** A wall-clock check: `ms` against an upper bound (no baseline, no ratio). */
export function wallRow(name: string, ms: number, limitMs: number): Row {
  return { name, ours: `${Math.round(ms).toLocaleString('en-US')} ms`, baseline: '—', ratio: '—', target: `< ${limitMs.toLocaleString('en-US')} ms`, verdict: ms < limitMs ? 'ok' : 'OVER' };
}

export function printTable(rows: readonly Row[], out: (line: string) => void = (l) => console.log(l)): void {
  const header: Row = { name: 'row', ours: 'ours/s', baseline: 'baseline/s', ratio: 'ratio', target: 'target', verdict: 'verdict' };
  const all = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const widths = { name: w('name'), ours: w('ours'), baseline: w('baseline'), ratio: w('ratio'), target: w('target'), verdict: w('verdict') };
  const line = (r: Row) =>
    `| ${r.name.padEnd(widths.name)} | ${r.ours.padStart(widths.ours)} | ${r.baseline.padStart(widths.baseline)} | ${r.ratio.padStart(widths.ratio)} | ${r.target.padEnd(widths.target)} | ${r.verdict.padEnd(widths.verdict)} |`;
  out(line(header));
  out(`|${'-'.repeat(widths.name + 2)}|${'-'.repeat(widths.ours + 1)}:|${'-'.repeat(widths.baseline + 1)}:|${'-'.repeat(widths.ratio + 1)}:|${'-'.repeat(widths.target + 2)}|${'-'.repeat(widths.verdict + 2)}|`);
  for (const r of rows) out(line(r));
}

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const [l1, l5] = os.loadavg();
  return [
    `${model}, ${cpus.length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `${os.type()} ${os.release()} ${os.arch()}, Node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`,
    `load average ${l1?.toFixed(2)} / ${l5?.toFixed(2)} (1 / 5 min) at start`,
  ].join('\n');
}

/** Full GC when the process was started with --expose-gc (memory rows need it). */
export function gc(): boolean {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) return false;
  g();
  g();
  return true;
}

/** Consumes a value so the JIT cannot drop the work that produced it. */
export let sink: unknown;
export function consume(v: unknown): void {
  sink = v;
}

/** Runs an async entry point: its number is the exit code; a throw prints and exits 1. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

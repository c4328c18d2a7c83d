// The daemon-level rows of step 9, measured on the built daemon as a process
// (dist/bin/nixfleet-agent.js, so `npm run build` first):
//
// - start-up to READY=1 against a bare `node -e 0` start (target: at most
//   +300 ms): a stand-in NOTIFY_SOCKET is bound with unix-dgram (as systemd's
//   would be, see src/io/systemd.ts) and the time from spawn to the READY=1
//   datagram is taken; `node -e 0` is timed from spawn to exit; the two
//   alternate, each run on a fresh state directory;
// - idle RSS after 2 minutes of steady operation against a loopback CP, against
//   a bare `node -e "setInterval(()=>{},1e3)"` started at the same moment
//   (target: at most +40 MB): both RSS are read from /proc at the same instant.
//
// Both are rows of `npm run bench` (section `daemon`, daemonRows below),
// against a loopback development CP (src/devcp over HTTPS with mTLS, set up by
// the built DemoFleet) that holds the long-poll and answers heartbeats as a
// real CP does. Standalone, `--devcp` does the same; with no flags at all the
// daemon runs against an unreachable CP (https://127.0.0.1:1), a throwaway
// trust.json and CA, as spec/daemon/process.spec.ts does — start-up without a client
// certificate, and an idle figure of a daemon retrying a dead CP.
//
//   npm run build && npx tsc -p bench/tsconfig.json
//   node node_modules/.cache/nixfleet-bench/bench/daemon.js [--ready] [--rss] [--runs=10] [--settle-secs=120] [--bin=dist/bin/nixfleet-agent.js] [--devcp | -- agent flags…]
//
// Agent flags after `--` replace the CP-less defaults: pass at least
// --control-plane-url, --machine-id, --trust-file and the TLS files the dev CP
// issued (--ca-cert, --client-cert, --client-key). A fresh --state-dir and
// --host-root are added to every run unless the flags name them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as DemoFleetModule from '../src/demo/fleet';
import { median, runMain, type Row } from './lib';
import { repoRoot } from './paths';

interface DgramServer {
  bind(p: string): void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const unixDgram = (): { createSocket(type: 'unix_dgram', f?: (buf: Buffer) => void): DgramServer } => require('unix-dgram');

export interface DaemonLaunch {
  /** The daemon's entry point; default dist/bin/nixfleet-agent.js. */
  readonly bin?: string;
  /** Agent flags (CP URL, machine id, trust file, TLS files, …). */
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface StartupResult {
  readonly runs: number;
  /** medians, ms */
  readonly readyMs: number;
  readonly bareMs: number;
  /** median of the per-run differences (runs alternate), ms */
  readonly deltaMs: number;
  readonly samples: { readonly ready: readonly number[]; readonly bare: readonly number[] };
}

export interface IdleRssResult {
  readonly settleMs: number;
  /** MiB, read at the same instant */
  readonly daemonMb: number;
  readonly bareMb: number;
  readonly deltaMb: number;
  /** highest daemon RSS seen while settling, MiB */
  readonly daemonPeakMb: number;
}

// The trust roots spec/daemon/process.spec.ts uses: valid, and nothing is ever signed with them here.
const THROWAWAY_TRUST = {
  schemaVersion: 1,
  ciReleaseKey: { current: { algorithm: 'ed25519', public: 'XGEGLc7caQGxOHt9EcWsRyhKk2fj6v5OVdDd+BFO8KY=' }, previous: null, rejectBefore: null },
  cacheKeys: [],
  orgRootKey: null,
};

// The daemon refuses to start without --ca-cert. A self-signed Ed25519 CA
// whose key was discarded: nothing can ever chain to it.
const THROWAWAY_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBYzCCARWgAwIBAgIUGS1bb9pfzZVuZE7tLl0zPPM9cFMwBQYDK2VwMCYxJDAi
BgNVBAMMG25peGZsZWV0IHRocm93YXdheSBiZW5jaCBDQTAgFw0yNjEyMDIwNzU5
MDJaGA8yMTI2MTEwODA3NTkwMlowJjEkMCIGA1UEAwwbbml4ZmxlZXQgdGhyb3dh
d2F5IGJlbmNoIENBMCowBQYDK2VwAyEAiFjWO36DgPx4lSBcod4lL76/Sxmugvyu
v0BxF9XI0+KjUzBRMB0GA1UdDgQWBBQAx3PXiZ3KbtcVbghEbiLjfpRG2zAfBgNV
HSMEGDAWgBQAx3PXiZ3KbtcVbghEbiLjfpRG2zAPBgNVHRMBAf8EBTADAQH/MAUG
AytlcANBAPqoFU/P+R77h9v387Dp6mRbnFa9AuUI6NfkBSw3DQ2mM6Qo/+n3FWpU
gos0prLYAFXRctPcKws5umcemCzkyAo=
-----END CERTIFICATE-----
`;

/** Flags for a daemon with no CP to talk to (the CP-less smoke mode). */
export function cplessArgs(dir: string): string[] {
  const trust = path.join(dir, 'trust.json');
  const ca = path.join(dir, 'ca.pem');
  if (!fs.existsSync(trust)) fs.writeFileSync(trust, JSON.stringify(THROWAWAY_TRUST));
  if (!fs.existsSync(ca)) fs.writeFileSync(ca, THROWAWAY_CA_PEM);
  return ['--control-plane-url', 'https://127.0.0.1:1', '--machine-id', 'bench-01', '--trust-file', trust, '--ca-cert', ca, '--log-level', 'warn', '--log-format', 'json'];
}

const defaultBin = () => path.join(repoRoot(), 'dist/bin/nixfleet-agent.js');

function withRunDirs(args: readonly string[], dir: string): string[] {
  const out = [...args];
  if (!out.includes('--state-dir')) out.push('--state-dir', path.join(dir, 'state'));
  if (!out.includes('--host-root')) {
    fs.mkdirSync(path.join(dir, 'host'), { recursive: true });
    out.push('--host-root', path.join(dir, 'host'));
  }
  return out;
}

/** Binds a stand-in NOTIFY_SOCKET; `ready` resolves at the first READY=1 datagram with its performance.now(). */
function notifySocket(dir: string): { readonly path: string; readonly ready: Promise<number>; close(): void } {
  const p = path.join(dir, 'notify');
  let resolve: (at: number) => void = () => {};
  const ready = new Promise<number>((r) => (resolve = r));
  const server = unixDgram().createSocket('unix_dgram', (buf) => {
    if (buf.toString().split('\n').includes('READY=1')) resolve(performance.now());
  });
  server.bind(p);
  return { path: p, ready, close: () => server.close() };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await deadline(exited(child), 30_000, 'the daemon to stop');
  } catch {
    child.kill('SIGKILL');
    await exited(child);
  }
}

function startDaemon(launch: DaemonLaunch, dir: string, notify: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [launch.bin ?? defaultBin(), ...withRunDirs(launch.args, dir)], {
    env: { ...process.env, ...launch.env, NOTIFY_SOCKET: notify },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

/** Spawn → READY=1 of the daemon, against spawn → exit of `node -e 0`, alternating, `runs` of each. */
export async function startupToReady(launch: DaemonLaunch, runs = 10): Promise<StartupResult> {
  const ready: number[] = [];
  const bare: number[] = [];
  const daemonRun = async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-bench-ready-'));
    const notify = notifySocket(dir);
    try {
      const t0 = performance.now();
      const { child, output } = startDaemon(launch, dir, notify.path);
      const early = exited(child).then((code) => {
        throw new Error(`daemon exited (${code}) before READY=1:\n${output()}`);
      });
      try {
        const at = await deadline(Promise.race([notify.ready, early]), 30_000, 'READY=1');
        ready.push(at - t0);
      } finally {
        early.catch(() => undefined);
        await stop(child);
      }
    } finally {
      notify.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const bareRun = async () => {
    const t0 = performance.now();
    await exited(spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }));
    bare.push(performance.now() - t0);
  };
  // One of each to warm the page cache (node, the modules, the native addons).
  await daemonRun();
  await bareRun();
  ready.length = 0;
  bare.length = 0;
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      await daemonRun();
      await bareRun();
    } else {
      await bareRun();
      await daemonRun();
    }
  }
  return { runs, readyMs: median(ready), bareMs: median(bare), deltaMs: median(ready.map((r, i) => r - (bare[i] as number))), samples: { ready, bare } };
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * Starts the daemon and `node -e "setInterval(()=>{},1e3)"` together, waits
 * `settleMs` after READY=1, then reads both RSS at the same instant (Linux /proc).
 */
export async function idleRss(launch: DaemonLaunch, settleMs = 120_000, onProgress: (line: string) => void = () => {}): Promise<IdleRssResult> {
  if (process.platform !== 'linux') throw new Error('idle RSS reads /proc: Linux only');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-bench-rss-'));
  const notify = notifySocket(dir);
  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' });
  const { child, output } = startDaemon(launch, dir, notify.path);
  try {
    await deadline(notify.ready, 30_000, 'READY=1').catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${output()}`);
    });
    let peak = 0;
    const start = performance.now();
    while (performance.now() - start < settleMs) {
      await new Promise((r) => setTimeout(r, Math.min(5_000, settleMs)));
      if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) while settling:\n${output()}`);
      const now = rssMb(child.pid as number);
      peak = Math.max(peak, now);
      onProgress(`  ${Math.round((performance.now() - start) / 1000)} s: daemon RSS ${now.toFixed(1)} MiB`);
    }
    const daemonMb = rssMb(child.pid as number);
    const bareMb = rssMb(bare.pid as number);
    return { settleMs, daemonMb, bareMb, deltaMb: daemonMb - bareMb, daemonPeakMb: Math.max(peak, daemonMb) };
  } finally {
    await stop(child);
    bare.kill('SIGTERM');
    await exited(bare);
    notify.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A loopback development CP (src/devcp, HTTPS with mTLS) with one declared
 * host, through the built `DemoFleet` (dist/demo/fleet.js, so its host tree
 * finds demo/host-tools): keys, host tree, trust.json, CA and bootstrap
 * token. The returned flags are the daemon's own for that host, with the
 * production worker periods (the demo's compressed ones dropped) and without
 * --state-dir, so every run gets a fresh state directory; the first run
 * enrolls with the token, later ones start with the certificate it wrote.
 */
export async function loopbackCp(dir: string, logLevel: 'info' | 'debug' = 'info'): Promise<{ readonly launch: DaemonLaunch; readonly url: string; close(): Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DemoFleet } = require(path.join(repoRoot(), 'dist/demo/fleet.js')) as typeof DemoFleetModule;
  const fleet = await DemoFleet.create({ dir, hosts: ['bench-01'], logLevel });
  const agent = fleet.agent('bench-01');
  // AgentProcess keeps the flags it builds private; the bench reads them rather than copy the recipe.
  const all = agent.args;
  const drop = new Set(['--state-dir', '--worker-periods', '--sustained-failure-threshold-secs']);
  const args: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const a = all[i] as string;
    if (drop.has(a)) i += 1;
    else args.push(a);
  }
  return { launch: { args, env: agent.tree.env({}) }, url: fleet.cp.url, close: () => fleet.close() };
}

/** `tsc -p tsconfig.build.json`, so the daemon rows never measure a stale dist/. */
function buildDist(): void {
  const r = spawnSync(process.execPath, [path.join(repoRoot(), 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

/**
 * The table's two daemon rows, against a loopback dev CP: start-up to READY=1
 * (certificate present, fresh state directory per run) and idle RSS after
 * `settle` (120 s; 20 s with --quick, which says so in the row).
 */
export async function daemonRows(quick: boolean, notes: string[], progress: (line: string) => void = () => {}): Promise<Row[]> {
  buildDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-bench-cp-'));
  const cp = await loopbackCp(dir);
  try {
    const runs = quick ? 6 : 10;
    const settleMs = quick ? 20_000 : 120_000;
    const up = await startupToReady(cp.launch, runs);
    const rss = await idleRss(cp.launch, settleMs, progress);
    notes.push(
      `daemon rows: dist/bin/nixfleet-agent.js (rebuilt first) against a loopback dev CP (${cp.url}, HTTPS + mTLS, one host, production worker periods); ` +
        `start-up: median of ${runs} alternating pairs, certificate present, fresh state directory each run ` +
        `(daemon ${up.samples.ready.map((x) => x.toFixed(0)).join('/')} ms; node -e 0 ${up.samples.bare.map((x) => x.toFixed(0)).join('/')} ms); ` +
        `idle RSS read at the same instant from /proc, daemon peak ${rss.daemonPeakMb.toFixed(1)} MiB while settling.`,
    );
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const mb = (x: number) => `${x.toFixed(1)} MiB`;
    const signed = (x: number, unit: string) => `${x >= 0 ? '+' : ''}${x.toFixed(unit === 'ms' ? 0 : 1)} ${unit}`;
    return [
      {
        name: 'daemon start-up to READY=1 vs node -e 0 (loopback dev CP, cert present)',
        ours: ms(up.readyMs),
        baseline: ms(up.bareMs),
        ratio: signed(up.deltaMs, 'ms'),
        target: '<= +300 ms',
        verdict: up.deltaMs <= 300 ? 'ok' : 'BELOW',
      },
      {
        name: `daemon idle RSS ${settleMs / 1000} s after READY=1 vs node -e setInterval${quick ? ' (--quick: not 120 s)' : ''}`,
        ours: mb(rss.daemonMb),
        baseline: mb(rss.bareMb),
        ratio: signed(rss.deltaMb, 'MiB'),
        target: '<= +40 MB',
        verdict: rss.deltaMb * 1.048576 <= 40 ? 'ok' : 'BELOW',
      },
    ];
  } finally {
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  const agentFlags = sep < 0 ? [] : argv.slice(sep + 1);
  if (own.includes('--help')) {
    console.log('usage: node node_modules/.cache/nixfleet-bench/bench/daemon.js [--ready] [--rss] [--runs=10] [--settle-secs=120] [--bin=PATH] [--devcp | -- agent flags…]');
    console.log('--devcp: against a loopback development CP (needs dist/: npm run build), as the bench table does.');
    console.log('Without agent flags the daemon runs against an unreachable CP (https://127.0.0.1:1) with a throwaway trust.json and CA.');
    return 0;
  }
  const opt = (name: string) => own.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const both = !own.includes('--ready') && !own.includes('--rss');
  const bin = opt('bin') ?? defaultBin();
  if (!fs.existsSync(bin)) {
    console.error(`${bin} is missing: npm run build first`);
    return 1;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-bench-daemon-'));
  let closeCp: (() => Promise<void>) | undefined;
  try {
    const devcp = own.includes('--devcp') ? await loopbackCp(path.join(scratch, 'fleet')) : undefined;
    closeCp = devcp?.close;
    const cpless = agentFlags.length === 0 && devcp === undefined;
    const launch: DaemonLaunch = devcp !== undefined ? { bin, ...devcp.launch } : { bin, args: cpless ? cplessArgs(scratch) : agentFlags };
    console.log(`daemon ${bin}, Node ${process.version}, ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} x${os.cpus().length}`);
    console.log(cpless ? 'CP: none (unreachable https://127.0.0.1:1) — no dev CP flags given' : `CP flags: ${launch.args.join(' ')}`);
    if (both || own.includes('--ready')) {
      const r = await startupToReady(launch, Number(opt('runs') ?? 10));
      console.log(`start-up to READY=1: ${r.readyMs.toFixed(0)} ms; node -e 0: ${r.bareMs.toFixed(0)} ms; ` + `difference ${r.deltaMs.toFixed(0)} ms (median of ${r.runs} alternating pairs; target at most +300 ms)`);
    }
    if (both || own.includes('--rss')) {
      const settle = Number(opt('settle-secs') ?? 120) * 1000;
      const r = await idleRss(launch, settle, (l) => console.log(l));
      console.log(
        `idle RSS after ${settle / 1000} s: daemon ${r.daemonMb.toFixed(1)} MiB (peak ${r.daemonPeakMb.toFixed(1)}); ` +
          `node -e setInterval ${r.bareMb.toFixed(1)} MiB; difference ${r.deltaMb.toFixed(1)} MiB (target at most +40 MB)` +
          (cpless ? ' — against an unreachable CP, not a loopback CP' : ''),
      );
    }
    return 0;
  } finally {
    await closeCp?.();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runMain(() => main(process.argv.slice(2)));
}

#!/usr/bin/env node
// `npm start` (or `nixfleet-agent-demo` from the installed package): two
// rollouts across a two-host fleet, end to end, on this machine. The
// development CP runs in process; each host is a real daemon process with its
// own host tree and stand-in Nix tools. Rollout 1 ships a good closure that
// converges after a short soak; rollout 2 ships one whose enforce-mode probe
// fails, so each agent declares sustained failure, rolls back and the host
// ends Reverted. Everything lives in a temporary directory, removed at exit
// unless --keep.
import 'reflect-metadata';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { HostRolloutState } from '../codecs/host-state';
import { errorMessage } from '../ports/error-text';
import { DemoFleet, FAST_TIMINGS } from './fleet';
import { checkSequence } from './sequence';
import { renderSummary, type SummaryRollout } from './summary';
import { screenOf, startView, type Phase } from './live';
import { BOLD, DIM, styled, type Screen } from './view';

// A mixed fleet: mac-01 is a nix-darwin host (the darwin activation backend).
const HOSTS = ['web-01', 'mac-01'];
const DARWIN_HOSTS = ['mac-01'];
const systemOf = (host: string, version: string) => `${DARWIN_HOSTS.includes(host) ? 'darwin' : 'nixos'}-system-${host}-${version}`;
const USAGE = `usage: nixfleet-agent-demo [--keep]
  --keep  keep the temporary directory (host trees, agent state, the CP's database) and print its path
`;
const screen = (): Screen => screenOf(process.stdout);
let stdoutGone = false;
const say = (...lines: string[]) => stdoutGone || process.stdout.write(lines.map((l) => `${l}\n`).join(''));
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s`;

// The running view, if any: a signal ends it before writing anything else.
let stopView: (() => void) | undefined;
const endView = () => {
  stopView?.();
  stopView = undefined;
};

async function rollout(fleet: DemoFleet, phase: Phase, closures: Record<string, string>, soakMinutes: number, expected: HostRolloutState['state']): Promise<number> {
  const t0 = performance.now();
  stopView = startView(fleet, HOSTS, phase, elapsed);
  try {
    phase.rolloutId = fleet.cp.release({ closures, policy: 'rollback-and-halt', soakMinutes }).rolloutId;
    const id = phase.rolloutId;
    await fleet.waitFor(`every host ${expected} in ${id}`, () => (HOSTS.every((h) => fleet.cp.record(id, h)?.state === expected) ? true : undefined), 90_000);
  } finally {
    endView();
  }
  return (performance.now() - t0) / 1000;
}

async function main(keep: boolean): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-demo-'));
  let fleet: DemoFleet | undefined;
  let interrupted: number | undefined;
  let finished: Promise<void> | undefined;
  // Once, from whichever comes first: the end, an error or a signal.
  const finish = () =>
    (finished ??= (async () => {
      endView();
      await fleet?.close();
      if (keep) say(`kept the temporary directory: ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    })());
  // Any way out, an uncaught error or a second signal included: no agent
  // outlives the demo, and the directory goes unless kept.
  process.on('exit', () => {
    fleet?.agents.forEach((a) => a.child?.kill('SIGKILL'));
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  });
  let stopping = false;
  const interrupt = (code: number, note: string) => {
    if (stopping) process.exit(code);
    stopping = true;
    interrupted = code;
    endView();
    say('', note);
    void finish().finally(() => process.exit(code));
  };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.on(signal, () => interrupt(code, 'interrupted; stopping the agents'));
  // The reader went away (`npm start | head`): stop as on a signal, silently.
  process.stdout.on('error', () => {
    if (stdoutGone) return;
    stdoutGone = true;
    interrupt(141, '');
  });
  const s = screen();
  say(
    styled(`nixfleet-agent demo: a development control plane and ${HOSTS.length} real agent processes`, BOLD, s),
    styled(`  in ${dir}`, '', s),
    styled('  web-01 is a NixOS host, mac-01 a nix-darwin one (activate, no systemd)', '', s),
    styled("timings compressed through the daemon's flags:", DIM, s),
    styled(`  --worker-periods ${FAST_TIMINGS.workerPeriods}`, DIM, s),
    styled(`  --sustained-failure-threshold-secs ${FAST_TIMINGS.sustainedFailureThresholdSecs}`, DIM, s),
    '',
  );
  let code = 1;
  try {
    const f = (fleet = await DemoFleet.create({ dir, hosts: HOSTS, darwinHosts: DARWIN_HOSTS }));
    f.startAgents();
    await f.waitFor('enrollment and the first heartbeat', () => (HOSTS.every((h) => f.cp.hosts().find((v) => v.hostname === h)?.lastCheckinAt != null) ? true : undefined), 60_000);
    say(styled(`${elapsed()}  enrolled (CSRs signed by the SSH host keys), checked in over mTLS`, '', screen()), '');
    code = await rollouts(f);
  } catch (err) {
    if (interrupted !== undefined) return interrupted;
    say('', styled(`demo failed: ${errorMessage(err)}`, BOLD, screen()));
    for (const h of fleet === undefined ? [] : HOSTS) {
      const tail = fleet?.agent(h).lines.filter((l) => l.level !== 'debug').slice(-8) ?? [];
      say('', `${h} (last log lines):`, ...tail.map((l) => styled(`  ${l.level} ${l.message}`, '', screen())));
    }
    if (!keep) say('', 'Run with --keep to keep the temporary directory for a look.');
  } finally {
    await finish();
  }
  return code;
}

async function rollouts(fleet: DemoFleet): Promise<number> {
  const good = Object.fromEntries(HOSTS.map((h) => [h, fleet.agent(h).tree.closure(systemOf(h, 'v2'), 'ok')]));
  const p1: Phase = { title: 'rollout 1: a good closure, 15 s soak' };
  const d1 = await rollout(fleet, p1, good, 0.25, 'Converged');
  say('');
  const bad = Object.fromEntries(HOSTS.map((h) => [h, fleet.agent(h).tree.closure(systemOf(h, 'v3'), 'broken')]));
  const p2: Phase = { title: 'rollout 2: a closure whose enforce probe fails' };
  const d2 = await rollout(fleet, p2, bad, 5, 'Reverted');
  say('');
  await Promise.all(HOSTS.map((h) => fleet.agent(h).stop('SIGTERM')));
  const result = (phase: Phase, seconds: number, expected: SummaryRollout['expected'], closures: Record<string, string>): SummaryRollout => {
    const rolloutId = phase.rolloutId ?? '';
    return {
      title: phase.title,
      rolloutId,
      seconds,
      expected,
      hosts: HOSTS.map((host) => {
        const r = fleet.cp.record(rolloutId, host);
        const check = checkSequence(fleet.cp.events(rolloutId).filter((e) => e.host === host));
        return { host, state: r?.state, closure: expected === 'Reverted' ? r?.revertedTo : closures[host], runs: fleet.agent(host).tree.current(), check };
      }),
    };
  };
  const sum = (f: (h: string) => number) => HOSTS.map(f).reduce((a, b) => a + b, 0);
  const { lines, ok } = renderSummary(
    { rollouts: [result(p1, d1, 'Converged', good), result(p2, d2, 'Reverted', bad)], queued: sum((h) => fleet.agent(h).queued), delivered: sum((h) => fleet.agent(h).delivered), elapsed: elapsed().trim() },
    screen(),
  );
  say(...lines);
  return ok ? 0 : 1;
}

const args = process.argv.slice(2);
const help = args.includes('--help') || args.includes('-h');
const unknown = args.filter((a) => !['--keep', '--help', '-h'].includes(a));
if (help || unknown.length > 0) {
  if (unknown.length > 0) process.stderr.write(`demo: unknown argument ${unknown.join(' ')}\n`);
  (unknown.length > 0 ? process.stderr : process.stdout).write(USAGE);
  process.exit(unknown.length > 0 ? 2 : 0);
}
main(args.includes('--keep')).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

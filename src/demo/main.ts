// `npm start`: two rollouts across a two-host fleet, end to end, on this
// machine. The development CP runs in process; each host is a real daemon
// process with its own host tree and stand-in Nix tools. Rollout 1 ships a
// good closure that converges after a short soak; rollout 2 ships one whose
// enforce-mode probe fails, so each agent declares sustained failure, rolls
// back and the host ends Reverted.
import 'reflect-metadata';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { interval } from 'rxjs';
import type { HostRolloutState } from '../codecs/host-state';
import type { DevCp } from '../devcp/dev-cp';
import { DemoFleet, FAST_TIMINGS } from './fleet';
import { checkSequence, type SequenceCheck } from './sequence';

const HOSTS = ['web-01', 'web-02'];
const tty = process.stdout.isTTY === true;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const color = (state: string) => {
  const c = { Converged: 32, Reverted: 33, Failed: 31, Soaking: 36, Activating: 35, Pending: 37, Deferred: 34 }[state];
  return tty && c !== undefined ? `\x1b[${c}m${state}\x1b[0m` : state;
};
const short = (closure: string | undefined) => (closure === undefined ? '—' : closure.replace(/^[a-z0-9]{32}-/, ''));
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s`;

interface Phase {
  readonly title: string;
  rolloutId?: string;
}

function latestRecord(cp: DevCp, host: string, rolloutId: string | undefined): HostRolloutState | undefined {
  return rolloutId === undefined ? undefined : cp.record(rolloutId, host);
}

function view(fleet: DemoFleet, phase: Phase): string[] {
  const lines = [bold(`nixfleet-agent demo — ${phase.title}`) + dim(`   ${elapsed()}`), ''];
  lines.push(dim('host     CP mirror    running closure                 probe                   events queued/acked'));
  for (const host of HOSTS) {
    const agent = fleet.agent(host);
    const r = latestRecord(fleet.cp, host, phase.rolloutId);
    const probe = r === undefined ? undefined : Object.entries(r.probes)[0];
    const probeText = probe === undefined ? '—' : `${probe[0]}: ${probe[1].status}`;
    lines.push(
      `${host.padEnd(8)} ${color((r?.state ?? '—').padEnd(11))}  ${short(agent.tree.current()).padEnd(30)}  ${probeText.padEnd(22)}  ${String(agent.queued).padStart(3)}/${String(agent.delivered).padEnd(3)}`,
    );
  }
  lines.push('', dim('control plane received:'));
  const events = fleet.cp.events(phase.rolloutId).slice(-6);
  for (const e of events) lines.push(dim(`  ${e.host} ${e.event.kind}#${e.event.seq} ${e.outcome}`));
  for (let i = events.length; i < 6; i++) lines.push('');
  return lines;
}

function startView(fleet: DemoFleet, phase: Phase): () => void {
  let drawn = 0;
  let lastPlain = '';
  const draw = () => {
    const lines = view(fleet, phase);
    if (tty) {
      process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else {
      // Not a terminal (CI, a pipe): one line per change of host states.
      const plain = HOSTS.map((h) => `${h}=${latestRecord(fleet.cp, h, phase.rolloutId)?.state ?? '-'}`).join(' ');
      if (plain !== lastPlain) process.stdout.write(`${elapsed()}  ${phase.title}: ${plain}\n`);
      lastPlain = plain;
    }
  };
  const redraw = interval(250).subscribe(draw);
  draw();
  return () => {
    redraw.unsubscribe();
    draw();
  };
}

async function rollout(fleet: DemoFleet, phase: Phase, closures: Record<string, string>, policy: 'halt' | 'rollback-and-halt', soakMinutes: number, expected: HostRolloutState['state']): Promise<number> {
  const t0 = performance.now();
  const stop = startView(fleet, phase);
  try {
    phase.rolloutId = fleet.cp.release({ closures, policy, soakMinutes }).rolloutId;
    const id = phase.rolloutId;
    await fleet.waitFor(`every host ${expected} in ${id}`, () => (HOSTS.every((h) => fleet.cp.record(id, h)?.state === expected) ? true : undefined), 90_000);
  } finally {
    stop();
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-demo-'));
  process.stdout.write(`${bold('nixfleet-agent demo')}: a development control plane and ${HOSTS.length} real agent processes in ${dir}\n`);
  process.stdout.write(dim(`timings compressed through configuration: --worker-periods ${FAST_TIMINGS.workerPeriods}, --sustained-failure-threshold-secs ${FAST_TIMINGS.sustainedFailureThresholdSecs}\n\n`));
  const fleet = await DemoFleet.create({ dir, hosts: HOSTS });
  fleet.startAgents();
  let code = 1;
  try {
    await fleet.waitFor('enrollment and the first heartbeat', () => (HOSTS.every((h) => fleet.cp.hosts().find((v) => v.hostname === h)?.lastCheckinAt != null) ? true : undefined), 60_000);
    process.stdout.write(`${elapsed()}  both hosts enrolled (CSR signed by their SSH host keys) and checked in over mTLS\n\n`);

    const good = Object.fromEntries(HOSTS.map((h) => [h, fleet.agent(h).tree.closure(`nixos-system-${h}-v2`, 'ok')]));
    const p1: Phase = { title: 'rollout 1: a good closure, 15 s soak' };
    const d1 = await rollout(fleet, p1, good, 'rollback-and-halt', 0.25, 'Converged');
    process.stdout.write('\n');

    const bad = Object.fromEntries(HOSTS.map((h) => [h, fleet.agent(h).tree.closure(`nixos-system-${h}-v3`, 'broken')]));
    const p2: Phase = { title: 'rollout 2: a closure whose enforce probe fails' };
    const d2 = await rollout(fleet, p2, bad, 'rollback-and-halt', 5, 'Reverted');
    process.stdout.write('\n');

    await Promise.all(HOSTS.map((h) => fleet.agent(h).stop('SIGTERM')));
    const checks: [string, string, SequenceCheck][] = [];
    for (const phase of [p1, p2]) for (const h of HOSTS) checks.push([phase.rolloutId ?? '', h, checkSequence(fleet.cp.events(phase.rolloutId).filter((e) => e.host === h))]);
    code = summary(fleet, [
      [p1, d1, 'Converged', good],
      [p2, d2, 'Reverted', bad],
    ], checks);
  } catch (err) {
    process.stdout.write(`\n${bold('demo failed')}: ${err instanceof Error ? err.message : String(err)}\n`);
    for (const h of HOSTS) {
      const tail = fleet.agent(h).lines.filter((l) => l.level !== 'debug').slice(-8);
      process.stdout.write(`\n${h} (last log lines):\n${tail.map((l) => `  ${l.level} ${l.message}`).join('\n')}\n`);
    }
  } finally {
    await fleet.close();
  }
  return code;
}

function summary(fleet: DemoFleet, phases: [Phase, number, string, Record<string, string>][], checks: [string, string, SequenceCheck][]): number {
  let ok = true;
  const out = [bold('Summary'), ''];
  for (const [phase, secs, expected, closures] of phases) {
    out.push(`${phase.title}  ${dim(`(${phase.rolloutId}, ${secs.toFixed(1)} s)`)}`);
    for (const h of HOSTS) {
      const r = fleet.cp.record(phase.rolloutId ?? '', h);
      const agent = fleet.agent(h);
      const good = r?.state === expected;
      ok &&= good;
      const tail = expected === 'Reverted' ? `rolled back to ${short(r?.revertedTo)}` : `running ${short(closures[h])}`;
      out.push(`  ${h}  ${color(r?.state ?? '—')}  ${tail}  ${dim(`last seq ${r?.lastEventSeq ?? 0}, host now runs ${short(agent.tree.current())}`)}`);
    }
  }
  out.push('', 'Events the control plane received, per host and rollout (kind#seq):');
  for (const [rolloutId, host, check] of checks) {
    ok &&= check.ok;
    out.push(`  ${host} ${rolloutId.slice(0, 14)}…  ${check.ok ? 'contiguous, no duplicates counted twice' : bold(check.problems.join('; '))}`);
    out.push(dim(`    ${check.kinds.join(' ')}`));
  }
  const queued = HOSTS.map((h) => fleet.agent(h).queued).reduce((a, b) => a + b, 0);
  const delivered = HOSTS.map((h) => fleet.agent(h).delivered).reduce((a, b) => a + b, 0);
  out.push('', `Agents queued ${queued} events durably and delivered ${delivered}; total ${elapsed().trim()}.`);
  out.push(ok ? bold('Both rollouts ended as expected.') : bold('Something did not end as expected (see above).'));
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

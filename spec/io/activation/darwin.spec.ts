// The nix-darwin backend (upstream activation/darwin.rs) through the real
// pipeline, with real child processes, against a darwin host tree: no lock
// check, `activate-user` then `activate` in their own session with output in
// the activate log, no exit code, rollback through the closure's `activate`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { ACTIVATION_BACKEND_ENV, createActivation, daemonBackend, platformDefaultBackend, type ActivationConfigInput } from '../../../src/io/activation';
import type { ActivationOutcome, RollbackOutcome } from '../../../src/ports/activation';
import type { RollbackProof } from '../../../src/codecs/intent';
import { MemoryLogger } from '../../fakes/ports';
import { DarwinHostTree } from './darwin-host-tree';
import { signedFor } from './host-tree';

let host: DarwinHostTree;
let current: string;
let target: string;

beforeEach(() => {
  host = new DarwinHostTree();
  current = host.darwinClosure('darwin-system-mac-01-25.11', ['activate', 'activate-user']);
  target = host.darwinClosure('darwin-system-mac-01-26.05', ['activate', 'activate-user']);
  host.boot(current);
});
afterEach(() => host.remove());

const activate = (closure: string, extra: ActivationConfigInput = {}): Promise<ActivationOutcome> =>
  firstValueFrom(createActivation(host.config(extra)).activate(closure, signedFor(closure)));
const rollback = (closure: string, proof: RollbackProof = 'own-record', failed = target, extra: ActivationConfigInput = {}): Promise<RollbackOutcome> =>
  firstValueFrom(createActivation(host.config(extra)).rollback(closure, proof, failed));
/** Calls in the order of the pipeline's own steps; the two detached scripts may log in either order. */
const calls = (): string[] => [...host.calls()].sort();

describe('darwin forward pipeline', () => {
  it('realises, sets the profile, starts activate-user and activate in their own sessions, and polls /run/current-system', async () => {
    host.behave('switch-delay', '0.2');
    expect(await activate(target)).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.current()).toBe(target);
    expect(host.profileTarget()).toBe(target);
    const p = `$T/nix/store/${target}`;
    expect(host.calls().slice(0, 2)).toEqual([`nix-store --realise ${p}`, `nix-env --profile $T/nix/var/nix/profiles/system --set ${p}`]);
    // Nothing of systemd: no systemctl, no systemd-run, no switch-to-configuration.
    expect(calls()).toEqual([`activate ${p}`, `activate-user ${p}`, `nix-env --profile $T/nix/var/nix/profiles/system --set ${p}`, `nix-store --realise ${p}`]);
    expect(await host.finished('activate-user')).toBe(0);
    expect(host.session('activate')).toBe('leader');
    expect(host.session('activate-user')).toBe('leader');
    // Both scripts' output is appended to the activate log.
    expect(host.activateLogText()).toContain(`stand-in activate: activating ${host.storePath(target)}`);
    expect(host.activateLogText()).toContain(`stand-in activate-user: activating ${host.storePath(target)}`);
  });

  it('skips activate-user when the closure has none (modern nix-darwin)', async () => {
    const modern = host.darwinClosure('darwin-system-mac-01-26.11');
    expect(await activate(modern)).toEqual({ kind: 'FiredAndPolled', observedClosure: modern });
    expect(host.calls().filter((c) => c.startsWith('activate'))).toEqual([`activate $T/nix/store/${modern}`]);
  });

  it('appends to the activate log, keeping what was there', async () => {
    fs.writeFileSync(host.activateLog, 'earlier run\n');
    await activate(target);
    await host.finished('activate-user');
    expect(host.activateLogText().startsWith('earlier run\n')).toBe(true);
  });

  it('still starts activate when the log cannot be opened, with a warning', async () => {
    const missing = path.join(host.root, 'no-such-dir/activate.log');
    expect(await activate(target, { activateLog: missing })).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.logs.some((l) => l.level === 'warn' && l.message.startsWith('activation: could not open the activate log') && l.fields?.['path'] === missing)).toBe(true);
  });

  it('a closure whose activate cannot start: SwitchFailed at darwin-activate-spawn, no exit code', async () => {
    const broken = host.darwinClosure('darwin-system-mac-01-broken', []);
    expect(await activate(broken)).toEqual({ kind: 'SwitchFailed', phase: 'darwin-activate-spawn' });
    expect(host.current()).toBe(current);
  });

  it('an activate-user that cannot start is not fatal: activate still runs', async () => {
    fs.chmodSync(path.join(host.storePath(target), 'activate-user'), 0o644);
    expect(await activate(target)).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.logs.some((l) => l.level === 'warn' && l.message.startsWith('activation: darwin activate-user failed to start'))).toBe(true);
  });

  it('a failing activate: the poll times out, SwitchFailed without an exit code (none is known on darwin)', async () => {
    host.behave('switch-fail');
    expect(await activate(target, { pollBudgetMs: 400 })).toEqual({ kind: 'SwitchFailed', phase: 'switch-poll-timeout' });
    expect(await host.finished('activate')).toBe(4);
    expect(host.activateLogText()).toContain('stand-in: activation script failed');
    // No unit to ask: systemctl is never run.
    expect(host.calls().filter((c) => c.startsWith('systemctl'))).toEqual([]);
  });

  it('a flip to a third closure is a VerifyMismatch', async () => {
    const other = host.darwinClosure('darwin-system-mac-01-other');
    host.behave('switch-flip-to', host.storePath(other));
    expect(await activate(target)).toEqual({ kind: 'VerifyMismatch', expected: target, actual: other });
  });

  it('resumed after a restart: a target already running is reported without starting anything; otherwise activate runs again', async () => {
    const resumed = (closure: string) => firstValueFrom(createActivation(host.config()).activate(closure, signedFor(closure), { resumed: true }));
    expect(await resumed(current)).toEqual({ kind: 'FiredAndPolled', observedClosure: current });
    expect(host.calls().filter((c) => c.startsWith('activate'))).toEqual([]);
    // No lock to wait on: a switch that did not land is fired again (the pipeline is idempotent).
    expect(await resumed(target)).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.calls().filter((c) => c.startsWith('activate '))).toEqual([`activate $T/nix/store/${target}`]);
  });

  it('never checks the switch lock: a held NixOS lock does not stop a darwin activation', async () => {
    fs.writeFileSync(host.lock, '');
    const holder = spawn('flock', ['--exclusive', host.lock, 'sh', '-c', 'echo locked; exec sleep 30'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
      expect(await activate(target)).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
  });
});

describe('darwin rollback', () => {
  beforeEach(async () => {
    await activate(target);
    await host.finished('activate-user');
  });

  it('sets the profile to the last-good closure and runs its activate', async () => {
    expect(await rollback(current)).toEqual({ kind: 'FiredAndPolled', revertedTo: current });
    expect(host.current()).toBe(current);
    expect(host.profileTarget()).toBe(current);
    const p = `$T/nix/store/${current}`;
    expect(host.calls().slice(-2)).toEqual([`nix-env --profile $T/nix/var/nix/profiles/system --set ${p}`, `activate ${p}`]);
    expect(host.session('activate')).toBe('leader');
  });

  it('a rollback target without an activate script: Failed at darwin-activate-missing, nothing started', async () => {
    const bare = host.darwinClosure('darwin-system-mac-01-bare', []);
    expect(await rollback(bare)).toEqual({ kind: 'Failed', phase: 'darwin-activate-missing' });
    expect(host.calls().filter((c) => c.startsWith('activate ')).length).toBe(1);
    expect(host.current()).toBe(target);
  });

  it('an activate that cannot start: Failed at darwin-activate-spawn', async () => {
    fs.chmodSync(path.join(host.storePath(current), 'activate'), 0o644);
    expect(await rollback(current)).toEqual({ kind: 'Failed', phase: 'darwin-activate-spawn' });
  });

  it('a poll that runs out: Failed at rollback-poll-timeout, no exit code', async () => {
    host.behave('switch-fail');
    expect(await rollback(current, 'own-record', target, { pollBudgetMs: 400 })).toEqual({ kind: 'Failed', phase: 'rollback-poll-timeout' });
  });
});

describe('backend choice', () => {
  it('is darwin on macOS and nixos elsewhere', () => {
    expect(platformDefaultBackend('darwin')).toBe('darwin');
    expect(platformDefaultBackend('linux')).toBe('nixos');
  });

  it('the daemon takes the platform’s unless the environment names a known backend; an unknown name is warned about', () => {
    const logger = new MemoryLogger();
    expect(daemonBackend({}, logger, 'darwin')).toBe('darwin');
    expect(daemonBackend({}, logger, 'linux')).toBe('nixos');
    expect(daemonBackend({ [ACTIVATION_BACKEND_ENV]: 'darwin' }, logger, 'linux')).toBe('darwin');
    expect(daemonBackend({ [ACTIVATION_BACKEND_ENV]: 'nixos' }, logger, 'darwin')).toBe('nixos');
    expect(logger.messages('warn')).toEqual([]);
    expect(daemonBackend({ [ACTIVATION_BACKEND_ENV]: 'Darwin' }, logger, 'linux')).toBe('nixos');
    expect(logger.messages('warn')).toEqual([`${ACTIVATION_BACKEND_ENV} names no activation backend; using the platform's`]);
  });
});

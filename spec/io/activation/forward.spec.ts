// The real forward pipeline (reference §11.2) with real child processes
// against a temporary host tree and the stand-in tools.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { firstValueFrom, lastValueFrom, timer, toArray } from 'rxjs';
import { createNixosActivation, LOCK_HELD_REASON, type ActivationConfigInput } from '../../../src/io/activation';
import type { ActivationOutcome } from '../../../src/ports/activation';
import { createNodeProcessPort } from '../../../src/io/process';
import type { ProcessPort } from '../../../src/ports/process';
import { fakeHash, HostTree, signedFor } from './host-tree';

let host: HostTree;
let current: string;
let target: string;

beforeEach(() => {
  host = new HostTree();
  current = host.closure('nixos-system-web-01-25.11');
  target = host.closure('nixos-system-web-01-26.05');
  host.boot(current);
  fs.writeFileSync(host.lock, '');
});
afterEach(() => host.remove());

const activate = (closure: string, extra: ActivationConfigInput = {}): Promise<ActivationOutcome> =>
  firstValueFrom(createNixosActivation(host.config(extra)).activate(closure, signedFor(closure)));

describe('forward pipeline', () => {
  it('realises, sets the profile, fires the detached switch and waits for /run/current-system', async () => {
    host.behave('switch-delay', '0.2');
    const outcome = await activate(target);
    expect(outcome).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.current()).toBe(target);
    expect(host.profileTarget()).toBe(target);
    const p = `$T/nix/store/${target}`;
    expect(host.calls()).toEqual([
      `nix-store --realise ${p}`,
      `nix-env --profile $T/nix/var/nix/profiles/system --set ${p}`,
      'systemctl reset-failed nixfleet-switch.service',
      `systemd-run --unit=nixfleet-switch --collect -- ${p}/bin/switch-to-configuration switch`,
      `switch-to-configuration switch ${p}`,
    ]);
  });

  it('reports a realise failure with the stderr tail and changes nothing', async () => {
    host.behave('realise-fail');
    const outcome = await activate(target);
    expect(outcome.kind).toBe('RealiseFailed');
    expect(outcome).toMatchObject({ reason: expect.stringContaining(`nix-store --realise ${host.storePath(target)} exited Some(1): `) });
    expect(outcome).toMatchObject({ reason: expect.stringContaining("error: cannot build '") });
    expect(host.calls()).toHaveLength(1);
    expect(host.profileTarget()).toBe(current);
  });

  it('tells a substituter trust failure apart (SignatureMismatch)', async () => {
    host.behave('realise-sigfail');
    const outcome = await activate(target);
    expect(outcome).toEqual({ kind: 'SignatureMismatch', closure: target, stderrTail: expect.stringContaining('lacks a valid signature') });
    expect(host.calls()).toHaveLength(1);
  });

  it('refuses a realised path that is not the requested one', async () => {
    host.behave('realise-wrong-path');
    const outcome = await activate(target);
    expect(outcome).toEqual({
      kind: 'RealiseFailed',
      reason: `realised path ${host.store}/00000000000000000000000000000000-other does not match requested ${host.storePath(target)}`,
    });
    expect(host.calls()).toHaveLength(1);
  });

  it('stops at a failing nix-env --set with its exit code', async () => {
    host.behave('nix-env-fail');
    expect(await activate(target)).toEqual({ kind: 'SwitchFailed', phase: 'nix-env-set', exitCode: 3 });
    expect(host.calls()).toHaveLength(2);
    expect(host.current()).toBe(current);
  });

  it('stops when systemd-run cannot queue the unit', async () => {
    host.behave('systemd-run-fail');
    expect(await activate(target)).toEqual({ kind: 'SwitchFailed', phase: 'systemd-run-fire', exitCode: 1 });
    expect(host.current()).toBe(current);
  });

  it('stops waiting for the detached switch when told to leave it running (shutdown), and reports nothing', async () => {
    host.behave('switch-delay', '1');
    const port = createNixosActivation(host.config());
    const outcomes = await lastValueFrom(port.activate(target, signedFor(target), { leaveRunningOn: timer(300) }).pipe(toArray()));
    expect(outcomes).toEqual([]);
    expect(host.calls()).toContain(`systemd-run --unit=nixfleet-switch --collect -- $T/nix/store/${target}/bin/switch-to-configuration switch`);
    expect(host.current()).toBe(current); // the switch is still running
  });

  it('times out waiting for /run/current-system and reads the unit exit status', async () => {
    host.behave('switch-fail');
    const outcome = await activate(target, { pollBudgetMs: 800 });
    expect(outcome).toEqual({ kind: 'SwitchFailed', phase: 'switch-poll-timeout', exitCode: 4 });
    expect(host.current()).toBe(current);
    expect(host.calls()).toContain('systemctl show --property=LoadState,ExecMainCode,ExecMainStatus nixfleet-switch.service');
    expect(host.logs.find((l) => l.message.includes('timed out'))?.fields).toMatchObject({ lastObserved: current });
  });

  it('reports no exit code when the unit status is unknown, never a made-up 0', async () => {
    host.behave('switch-delay', '1');
    const outcome = await activate(target, { pollBudgetMs: 100 });
    expect(outcome).toEqual({ kind: 'SwitchFailed', phase: 'switch-poll-timeout' });
  });

  it('catches a flip to a third closure (VerifyMismatch)', async () => {
    const other = host.closure('nixos-system-web-01-other');
    host.behave('switch-flip-to', host.storePath(other));
    expect(await activate(target)).toEqual({ kind: 'VerifyMismatch', expected: target, actual: other });
  });

  it('defers to the next boot when the kernel differs, writing the boot entry in a transient unit it waits for', async () => {
    const newKernel = host.closure('nixos-system-web-01-kernel', { kernel: 'linux-6.12.9' });
    const outcome = await activate(newKernel);
    expect(outcome).toEqual({ kind: 'DeferredPendingReboot', component: 'kernel' });
    expect(host.current()).toBe(current);
    expect(host.profileTarget()).toBe(newKernel);
    expect(host.bootEntry()).toBe(newKernel);
    // not in the agent's own (sandboxed) process: systemd-run --wait, limited to bootTimeoutMs (10 s here)
    const unit = host.calls().filter((c) => c.startsWith('systemd-run') || c.startsWith('switch-to-configuration'));
    expect(unit).toEqual([
      `systemd-run --unit=nixfleet-switch-boot --collect --wait --pipe --quiet --property=RuntimeMaxSec=10 -- $T/nix/store/${newKernel}/bin/switch-to-configuration boot`,
      `switch-to-configuration boot $T/nix/store/${newKernel}`,
    ]);
  });

  it('checks dbus before systemd before kernel (first match wins)', async () => {
    const all = host.closure('nixos-system-web-01-all', { kernel: 'linux-6.12.9', systemd: 'systemd-257', dbus: 'dbus-1.16' });
    const sd = host.closure('nixos-system-web-01-sd', { kernel: 'linux-6.12.9', systemd: 'systemd-257' });
    expect(await activate(all)).toEqual({ kind: 'DeferredPendingReboot', component: 'dbus' });
    expect(await activate(sd)).toEqual({ kind: 'DeferredPendingReboot', component: 'systemd' });
  });

  it('reports a failed bootloader update of a deferral', async () => {
    const newKernel = host.closure('nixos-system-web-01-kernel', { kernel: 'linux-6.12.9' });
    host.behave('boot-fail');
    expect(await activate(newKernel)).toEqual({ kind: 'SwitchFailed', phase: 'defer-bootloader-update', exitCode: 5 });
  });

  describe('switch lock', () => {
    let holder: ChildProcess | undefined;
    afterEach(() => {
      if (holder?.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
      holder = undefined;
    });

    it('does nothing while another switch-to-configuration holds the lock', async () => {
      holder = spawn('flock', ['--exclusive', host.lock, 'sh', '-c', 'echo locked; exec sleep 30'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve) => holder?.stdout?.once('data', () => resolve()));
      expect(await activate(target)).toEqual({ kind: 'RealiseFailed', reason: LOCK_HELD_REASON });
      expect(host.calls()).toEqual([]);
      expect(host.current()).toBe(current);
    });

    it('resumed after a restart: waits for the switch still holding the lock instead of failing on it, firing nothing', async () => {
      holder = spawn('flock', ['--exclusive', host.lock, 'sh', '-c', 'echo locked; exec sleep 30'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve) => holder?.stdout?.once('data', () => resolve()));
      const outcome = firstValueFrom(createNixosActivation(host.config()).activate(target, signedFor(target), { resumed: true }));
      // The switch fired before the restart finishes now.
      setTimeout(() => {
        fs.symlinkSync(host.storePath(target), `${host.currentSystem}.tmp`);
        fs.renameSync(`${host.currentSystem}.tmp`, host.currentSystem);
      }, 300);
      expect(await outcome).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
      expect(host.calls().filter((c) => !c.startsWith('nix-env'))).toEqual([]);
    });

    it('resumed after a restart: a switch that already finished is reported, nothing runs again', async () => {
      fs.rmSync(host.currentSystem);
      fs.symlinkSync(host.storePath(target), host.currentSystem);
      expect(await firstValueFrom(createNixosActivation(host.config()).activate(target, signedFor(target), { resumed: true }))).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
      expect(host.calls().filter((c) => !c.startsWith('nix-env'))).toEqual([]);
    });

    it('resumed with nothing running and the target not reached: the pipeline runs again', async () => {
      expect((await firstValueFrom(createNixosActivation(host.config()).activate(target, signedFor(target), { resumed: true }))).kind).toBe('FiredAndPolled');
      expect(host.calls().some((c) => c.startsWith('systemd-run'))).toBe(true);
    });

    it('proceeds when no lock file exists (nothing has switched since boot)', async () => {
      fs.rmSync(host.lock);
      expect((await activate(target)).kind).toBe('FiredAndPolled');
    });

    it('fails open, with a warning, when flock is missing', async () => {
      expect((await activate(target, { tools: { ...host.config().tools, flock: `${host.root}/no-such-flock` } })).kind).toBe('FiredAndPolled');
      expect(host.logs.some((l) => l.level === 'warn' && l.message.includes('flock unavailable'))).toBe(true);
    });
  });

  it('reads /run/current-system before firing; a missing one stops the pipeline', async () => {
    fs.rmSync(host.currentSystem);
    const outcome = await activate(target);
    expect(outcome).toMatchObject({ kind: 'RealiseFailed', reason: expect.stringMatching(/^pre-switch .*current-system read failed: ENOENT/) });
    expect(host.calls().some((c) => c.startsWith('systemd-run'))).toBe(false);
  });

  it('turns a tool that cannot start into a PipelineError', async () => {
    const outcome = await activate(target, { tools: { ...host.config().tools, nixEnv: `${host.root}/no-such-nix-env` } });
    expect(outcome).toMatchObject({ kind: 'PipelineError', message: expect.stringContaining('spawn nix-env --set: ') });
  });

  it('self-corrects a profile re-pointed by the activation script', async () => {
    host.behave('switch-repoint-profile', host.storePath(current));
    expect(await activate(target)).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.profileTarget()).toBe(target);
    expect(host.calls().filter((c) => c.startsWith('nix-env'))).toHaveLength(2);
    expect(host.logs.some((l) => l.message.includes('re-running nix-env --set'))).toBe(true);
  });

  const hash = fakeHash('x');
  it.each([
    ['"..", escaping the store', '../../../etc/shadow'],
    ['".." inside the name', `${hash}-nixos..system`],
    ['a semicolon', `${hash}-nixos;reboot`],
    ['a space', `${hash}-nixos system`],
    ['a newline', `${hash}-nixos\nsystem`],
    ['command substitution', `${hash}-$(reboot)`],
    ['a hash outside nix-base32', `${'e'.repeat(32)}-nixos-system`],
    ['a short hash', 'abc-nixos-system'],
    ['a full path instead of a basename', `/nix/store/${hash}-nixos-system`],
  ])('refuses a target with %s before any process runs', async (_what, closure) => {
    let spawned = 0;
    const real = createNodeProcessPort();
    const counting: ProcessPort = { run: (req) => (spawned++, real.run(req)) };
    const outcome = await activate(closure, { process: counting });
    expect(outcome).toMatchObject({ kind: 'RealiseFailed', reason: expect.stringMatching(/^refusing target: invalid store path .+: .+/) });
    expect(spawned).toBe(0);
    expect(host.calls()).toEqual([]);
  });

  it('runs nothing in test mode and reports the intent target', async () => {
    const outcome = await activate(target, { testMode: () => true });
    expect(outcome).toEqual({ kind: 'FiredAndPolled', observedClosure: target });
    expect(host.calls()).toEqual([]);
  });

  it('is cold: nothing runs until subscribed, and it emits exactly one outcome', async () => {
    const port = createNixosActivation(host.config());
    const outcome$ = port.activate(target, signedFor(target));
    expect(host.calls()).toEqual([]);
    expect(await lastValueFrom(outcome$.pipe(toArray()))).toHaveLength(1);
  });

  it('refuses a closure the verified manifest does not name, before anything runs (even in test mode)', async () => {
    const port = createNixosActivation(host.config({ testMode: () => true }));
    const outcome = await firstValueFrom(port.activate(target, signedFor(current)));
    expect(outcome).toMatchObject({ kind: 'PipelineError', message: expect.stringMatching(/^refused: /) });
    expect(host.calls()).toEqual([]);
  });
});

// The rollback pipeline returns to the recorded last-good closure itself,
// not "one generation back" (reference §18 item 16), with real processes
// against a temporary host tree.
import { firstValueFrom } from 'rxjs';
import { createNixosActivation, type ActivationConfigInput } from '../../../src/io/activation';
import type { RollbackOutcome } from '../../../src/ports/activation';
import { HostTree, signedFor } from './host-tree';

let host: HostTree;
let older: string;
let good: string;
let bad: string;

beforeEach(() => {
  host = new HostTree();
  older = host.closure('nixos-system-web-01-25.05');
  good = host.closure('nixos-system-web-01-25.11');
  bad = host.closure('nixos-system-web-01-26.05');
  // Generation 1 = older, generation 2 = good (running).
  host.boot(older, good);
});
afterEach(() => host.remove());

const port = (extra: ActivationConfigInput = {}) => createNixosActivation(host.config(extra));
const rollback = (closure: string, extra: ActivationConfigInput = {}): Promise<RollbackOutcome> => firstValueFrom(port(extra).rollback(closure, 'own-record', bad));

describe('rollback pipeline', () => {
  it('after a failure before nix-env --set, stays on last-good instead of going one generation too far', async () => {
    host.behave('realise-fail');
    expect((await firstValueFrom(port().activate(bad, signedFor(bad)))).kind).toBe('RealiseFailed');
    expect(host.profileTarget()).toBe(good);
    // `nix-env --rollback` would now select generation 1 (`older`).
    const outcome = await rollback(good);
    expect(outcome).toEqual({ kind: 'FiredAndPolled', revertedTo: good });
    expect(host.profileTarget()).toBe(good);
    expect(host.current()).toBe(good);
  });

  it('after a live switch to a bad closure, returns to last-good with its own switch-to-configuration', async () => {
    expect((await firstValueFrom(port().activate(bad, signedFor(bad)))).kind).toBe('FiredAndPolled');
    expect(host.current()).toBe(bad);
    const before = host.calls().length;
    host.behave('switch-delay', '0.1');
    expect(await rollback(good)).toEqual({ kind: 'FiredAndPolled', revertedTo: good });
    expect(host.current()).toBe(good);
    expect(host.profileTarget()).toBe(good);
    const p = `$T/nix/store/${good}`;
    expect(host.calls().slice(before)).toEqual([
      `nix-env --profile $T/nix/var/nix/profiles/system --set ${p}`,
      'systemctl reset-failed nixfleet-rollback.service',
      `systemd-run --unit=nixfleet-rollback --collect -- ${p}/bin/switch-to-configuration switch`,
      `switch-to-configuration switch ${p}`,
    ]);
  });

  it('reports a failing nix-env --set', async () => {
    host.behave('nix-env-fail');
    expect(await rollback(good)).toEqual({ kind: 'Failed', phase: 'nix-env-set', exitCode: 3 });
  });

  it('reports a unit that could not be queued', async () => {
    host.behave('systemd-run-fail');
    expect(await rollback(good)).toEqual({ kind: 'Failed', phase: 'systemd-run-fire', exitCode: 1 });
  });

  it('times out when the rollback switch fails, with the unit exit status', async () => {
    expect((await firstValueFrom(port().activate(bad, signedFor(bad)))).kind).toBe('FiredAndPolled');
    host.behave('switch-fail');
    expect(await rollback(good, { pollBudgetMs: 800 })).toEqual({ kind: 'Failed', phase: 'rollback-poll-timeout', exitCode: 4 });
    expect(host.calls()).toContain('systemctl show --property=LoadState,ExecMainCode,ExecMainStatus nixfleet-rollback.service');
  });

  it('turns a missing nix-env into a PipelineError', async () => {
    const outcome = await rollback(good, { tools: { ...host.config().tools, nixEnv: `${host.root}/missing` } });
    expect(outcome).toMatchObject({ kind: 'PipelineError', message: expect.stringContaining('spawn nix-env --set: ') });
  });

  it.each([
    ['a relative escape', '../../etc/passwd'],
    ['a semicolon', `${'0'.repeat(32)}-x;reboot`],
  ])('refuses %s as the rollback target without running anything', async (_what, closure) => {
    expect(await rollback(closure)).toEqual({ kind: 'Failed', phase: 'invalid-target' });
    expect(host.calls()).toEqual([]);
    expect(host.logs.some((l) => l.level === 'error' && l.message.includes('refusing rollback target'))).toBe(true);
  });

  it('runs nothing in test mode and reports the intent closure', async () => {
    expect(await rollback(good, { testMode: () => true })).toEqual({ kind: 'FiredAndPolled', revertedTo: good });
    expect(host.calls()).toEqual([]);
  });

  it('a target only the CP named must be a generation of the system profile: otherwise nothing runs', async () => {
    const stranger = host.closure('nixos-system-EVIL-unsigned');
    const before = host.calls().length;
    expect(await firstValueFrom(port().rollback(stranger, 'profile-history', bad))).toEqual({ kind: 'Failed', phase: 'not-in-profile-history' });
    expect(host.calls().slice(before)).toEqual([]);
    expect(host.current()).toBe(good);
    // Generation 1 is in the history: allowed.
    expect(await firstValueFrom(port().rollback(older, 'profile-history', bad))).toEqual({ kind: 'FiredAndPolled', revertedTo: older });
  });

  it('a rollback "to" the failed target itself returns to the newest other generation and reports it', async () => {
    // Generation 3 = bad (as after a live switch), 2 = good, 1 = older.
    expect((await firstValueFrom(port().activate(bad, signedFor(bad)))).kind).toBe('FiredAndPolled');
    expect(await firstValueFrom(port().rollback(bad, 'previous-generation', bad))).toEqual({ kind: 'FiredAndPolled', revertedTo: good });
    expect(host.current()).toBe(good);
    expect(host.profileTarget()).toBe(good);
  });

  it('with no generation but the failed one, nothing runs', async () => {
    const only = new HostTree();
    try {
      const lone = only.closure('nixos-system-web-01-lone');
      only.boot(lone);
      const outcome = await firstValueFrom(createNixosActivation(only.config()).rollback(lone, 'previous-generation', lone));
      expect(outcome).toEqual({ kind: 'Failed', phase: 'no-previous-generation' });
      expect(only.calls()).toEqual([]);
    } finally {
      await only.remove();
    }
  });
});

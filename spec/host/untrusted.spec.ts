// A closure whose binary-cache signature is by a key the host does not
// trust: the host's nix-daemon refuses to substitute it (require-sigs), the
// agent reports the activation failed with Nix's reason, and the host is
// unchanged — same profile generation, same running system, nothing new in
// the store.
import { AGENT, HostBed } from './bed/host';

describe('a closure signed by an untrusted key', () => {
  let bed: HostBed;
  let rollout: string;
  beforeAll(async () => {
    bed = await HostBed.running();
    rollout = bed.release('untrusted', { policy: 'halt' });
    await bed.waitFor('the failure to reach the CP', () => (bed.cpEvents(rollout).some((e) => e.event.kind === 'ActivationFailed') ? true : undefined), 120_000);
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('reports the refused realise as a failed activation, with the reason', () => {
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds).toContain('ActivationFailed');
    expect(kinds).not.toContain('ActivationCompleted');
    const failed = bed.cpEvents(rollout).find((e) => e.event.kind === 'ActivationFailed');
    expect(JSON.stringify(failed?.event)).toMatch(/not signed by any of the keys|signature/);
  });

  it('left the host as it was', () => {
    const { gen1, untrusted } = bed.systems.closures;
    expect(bed.profile()).toEqual({ generation: 1, closure: gen1 });
    expect(bed.currentSystem()).toBe(gen1);
    expect(bed.exec(['nix-store', '--check-validity', untrusted]).status).not.toBe(0);
    expect(bed.unit(AGENT)).toMatchObject({ ActiveState: 'active', NRestarts: 0 });
  });
});

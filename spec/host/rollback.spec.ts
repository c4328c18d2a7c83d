// A generation whose service fails its probe through the soak: the agent
// rolls back to the real previous generation (the profile gains a new
// generation naming it, /run/current-system points at it again), reports the
// closure it reached, and its journal says which probe failed and why.
import * as path from 'node:path';
import { AGENT, HostBed } from './bed/host';

describe('probe failure on a real host', () => {
  let bed: HostBed;
  let rollout: string;
  beforeAll(async () => {
    bed = await HostBed.running();
    rollout = bed.release('gen2-broken', { soakMinutes: 0.25, policy: 'rollback-and-halt' });
    await bed.waitState(rollout, 'Reverted', 180_000);
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('reports the failure and the rollback to the CP once each, seqs contiguous', () => {
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds.slice(0, 3)).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted']);
    expect(kinds.filter((k) => k === 'Failed')).toHaveLength(1);
    expect(kinds[kinds.length - 1]).toBe('RollbackComplete');
    const rb = bed.cpEvents(rollout).find((e) => e.event.kind === 'RollbackComplete');
    expect(rb?.event).toMatchObject({ revertedToClosure: expect.stringContaining(path.basename(bed.systems.closures.gen1)), exitCode: 0 });
  });

  it('is back on generation 1: a new profile generation names it, and it runs', () => {
    const { gen1 } = bed.systems.closures;
    expect(bed.profile()).toEqual({ generation: 3, closure: gen1 });
    expect(bed.currentSystem()).toBe(gen1);
    expect(bed.c.run(['curl', '-sf', 'http://127.0.0.1:8080/'])).toBe('gen1\n');
    expect(bed.switchLog('nixfleet-rollback.service')).toContain(`switched to ${gen1}`);
    expect(bed.unit(AGENT)).toMatchObject({ ActiveState: 'active', NRestarts: 0 });
  });

  it('says in the journal, at ERROR, which probe failed and why, and where it rolled back to', () => {
    const lines = bed.agentLines();
    const errors = lines.filter((l) => l.priority === 3).map((l) => l.message);
    expect(errors.some((m) => /web/.test(m) && /500/.test(m))).toBe(true);
    expect(lines.some((l) => l.message.includes(path.basename(bed.systems.closures.gen1)) && /roll/i.test(l.message))).toBe(true);
  });
});

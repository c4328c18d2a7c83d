// `systemctl stop` in the middle of a soak: the agent tells systemd it is
// stopping (STOPPING=1, seen in PID 1's debug log), exits 0 well within
// TimeoutStopSec, and its last status says so. Started again, it resumes the
// soak and the rollout converges with every seq once.
import { AGENT, HostBed } from './bed/host';

describe('systemctl stop mid-soak', () => {
  let bed: HostBed;
  beforeAll(async () => {
    bed = await HostBed.running();
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('stops cleanly and quickly, then resumes the soak', async () => {
    const rollout = bed.release('gen2', { soakMinutes: 0.5 });
    await bed.waitState(rollout, 'Soaking');
    const pid = bed.unit(AGENT).MainPID;
    const started = Date.now();
    bed.c.run(['systemctl', 'stop', AGENT]);
    const tookMs = Date.now() - started;
    expect(tookMs).toBeLessThan(10_000); // TimeoutStopSec is 30 s
    expect(bed.unit(AGENT)).toMatchObject({ ActiveState: 'inactive', Result: 'success', ExecMainStatus: 0 });
    const notes = bed.journal(undefined, `notification message from PID ${pid}`).map((l) => l.message);
    expect(notes.some((m) => m.includes('STOPPING=1'))).toBe(true);
    expect(notes[notes.length - 1]).toMatch(/STATUS=stop/);

    bed.c.run(['systemctl', 'start', AGENT]);
    await bed.waitState(rollout, 'Converged', 120_000);
    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds[kinds.length - 1]).toBe('Converged');
    expect(bed.profile()).toEqual({ generation: 2, closure: bed.systems.closures.gen2 });
  });
});

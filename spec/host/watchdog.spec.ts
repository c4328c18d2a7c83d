// A hung agent (SIGSTOP) in the middle of a soak: systemd's watchdog kills it
// and restarts it; the restarted agent keeps its certificate and state, and
// the rollout's events continue without a seq reused or skipped. The bed
// shortens WatchdogSec with a drop-in (the unit's 60 s default would only
// make the wait longer).
import { AGENT, HostBed } from './bed/host';

describe('watchdog kill mid-soak', () => {
  let bed: HostBed;
  let rollout: string;
  beforeAll(async () => {
    bed = await HostBed.running({ agentDropIn: '[Service]\nWatchdogSec=10\n' });
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('is killed by the watchdog, restarts with its state, and the rollout converges with every seq once', async () => {
    const cert = bed.c.read('var/lib/nixfleet/agent-cert.pem');
    rollout = bed.release('gen2', { soakMinutes: 1.5 });
    await bed.waitState(rollout, 'Soaking');
    const before = bed.unit(AGENT);
    process.kill(bed.c.hostPidOf(before.MainPID), 'SIGSTOP');

    await bed.waitFor('the watchdog to restart the agent', () => (bed.unit(AGENT).NRestarts === 1 && bed.unit(AGENT).ActiveState === 'active' ? true : undefined), 90_000);
    expect(bed.journal(AGENT).some((l) => /Watchdog timeout/.test(l.message))).toBe(true);
    await bed.waitState(rollout, 'Converged', 180_000);

    const kinds = bed.received(rollout).map((k) => k.split('#')[0]);
    expect(kinds[kinds.length - 1]).toBe('Converged');
    expect(bed.cpEvents(rollout).filter((e) => e.outcome === 'duplicate')).toEqual([]);
    expect(bed.c.read('var/lib/nixfleet/agent-cert.pem')).toBe(cert);
    expect(bed.agentLines().filter((l) => /enrolled/.test(l.message))).toHaveLength(1);
    expect(bed.agentLines().some((l) => /agent running/.test(l.message) && /restoredRollouts=1/.test(l.message))).toBe(true);
  });
});

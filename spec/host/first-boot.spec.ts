// First boot of a host configured with the module's defaults and only what an
// operator must fill in (CP URL, CA, trust roots, token): the CP is down at
// first, then comes up; the agent enrolls once, writes its certificate where
// the default points, and is running.
import { AGENT, HostBed } from './bed/host';

describe('first boot with the module defaults', () => {
  let bed: HostBed;
  beforeAll(async () => {
    bed = await HostBed.start({ cpDown: true });
  });
  afterAll(async () => {
    await bed?.destroy();
  });

  it('waits for the CP in "activating", enrolls once when it comes up, and runs', async () => {
    await bed.waitFor('the agent to report the CP unreachable', () => (/control plane unreachable/.test(bed.unit(AGENT).StatusText) ? true : undefined));
    expect(bed.unit(AGENT).ActiveState).toBe('activating');
    expect(bed.c.exists('var/lib/nixfleet/agent-cert.pem')).toBe(false);
    // Each wait extends systemd's start timeout instead of letting it kill the agent.
    const waiting = bed.unit(AGENT).MainPID;
    expect(bed.journal(undefined, `notification message from PID ${waiting}`).some((l) => /EXTEND_TIMEOUT_USEC=\d+/.test(l.message))).toBe(true);

    await bed.startCp();
    await bed.waitFor('the agent to be active', () => (bed.unit(AGENT).ActiveState === 'active' ? true : undefined), 90_000);
    expect(bed.unit(AGENT).StatusText).toBe('running');
    expect(bed.c.exists('var/lib/nixfleet/agent-cert.pem')).toBe(true);
    const enrolled = bed.agentLines().filter((l) => /enrolled/.test(l.message));
    expect(enrolled).toHaveLength(1);
  });

  it('refuses a second agent on the same state directory, naming the one that runs', () => {
    const running = bed.unit(AGENT).MainPID;
    const execStart = bed.c.run(['systemctl', 'show', '--property=ExecStart', '--value', AGENT]);
    const argv = /argv\[\]=([^;]*);/.exec(execStart)?.[1]?.trim().split(' ') ?? [];
    expect(argv.length).toBeGreaterThan(10);
    const second = bed.exec(argv);
    expect(second.status).toBe(1);
    expect(second.stdout + second.stderr).toContain(`pid ${running}`);
    expect(bed.unit(AGENT)).toMatchObject({ ActiveState: 'active', MainPID: running });
  });
});

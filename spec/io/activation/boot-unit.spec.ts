// The deferred activation's `switch-to-configuration boot` runs in a
// transient unit (the agent's own unit is sandboxed, the transient one is
// not), waited for, with the boot timeout enforced by systemd on the unit and
// by the agent on systemd-run. The stand-in tree runs it end to end in
// forward.spec.ts; this pins the exact invocation.
import { firstValueFrom, of } from 'rxjs';
import { activationConfig } from '../../../src/io/activation/config';
import { BOOT_REPORT_GRACE_MS, switchBoot } from '../../../src/io/activation/tools';
import type { ProcessPort, ProcessRequest } from '../../../src/ports/process';

const STORE_PATH = '/nix/store/0c6kzph7l0dcbfmjap64f0czdafn3b7r-nixos-system-web-01-kernel';

function recorder(code: number): { port: ProcessPort; requests: ProcessRequest[] } {
  const requests: ProcessRequest[] = [];
  const port: ProcessPort = {
    run: (req) => {
      requests.push(req);
      return of({ termination: { kind: 'exited', code }, stdout: new Uint8Array(), stdoutTruncated: false, stderr: new Uint8Array(), stderrTruncated: false });
    },
  };
  return { port, requests };
}

describe('switchBoot', () => {
  it('runs switch-to-configuration boot through systemd-run --wait, the boot timeout as the unit’s RuntimeMaxSec', async () => {
    const { port, requests } = recorder(0);
    const cfg = activationConfig({ process: port, env: {} });
    await firstValueFrom(switchBoot(cfg, STORE_PATH));
    expect(requests).toHaveLength(1);
    expect(requests[0]?.argv).toEqual([
      'systemd-run',
      '--unit=nixfleet-switch-boot',
      '--collect',
      '--wait',
      '--pipe',
      '--quiet',
      '--property=RuntimeMaxSec=600',
      '--',
      `${STORE_PATH}/bin/switch-to-configuration`,
      'boot',
    ]);
    // systemd stops the unit at 600 s; systemd-run has a grace to report it before the agent gives up on it
    expect(requests[0]?.timeoutMs).toBe(600_000 + BOOT_REPORT_GRACE_MS);
  });

  it('follows the configured unit name, tool and timeout (rounded up to whole seconds)', async () => {
    const { port, requests } = recorder(5);
    const cfg = activationConfig({ process: port, env: {}, switchUnit: 'fleet-switch', tools: { systemdRun: '/run/current-system/sw/bin/systemd-run' }, bootTimeoutMs: 1_500 });
    const r = await firstValueFrom(switchBoot(cfg, STORE_PATH));
    expect(r.termination).toEqual({ kind: 'exited', code: 5 }); // the unit's status, as systemd-run --wait exits with it
    expect(requests[0]?.argv.slice(0, 2)).toEqual(['/run/current-system/sw/bin/systemd-run', '--unit=fleet-switch-boot']);
    expect(requests[0]?.argv).toContain('--property=RuntimeMaxSec=2');
    expect(requests[0]?.timeoutMs).toBe(1_500 + BOOT_REPORT_GRACE_MS);
  });
});

// A closure that failed and was rolled back is quarantined on its channel:
// the planner never dispatches it again, and releasing it again is refused
// (422 on the admin route) with the reason it was quarantined.
import { firstValueFrom } from 'rxjs';
import { encodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope, type AgentEvent } from '../../src/codecs/events';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { DevCp } from '../../src/devcp/dev-cp';
import type { CpClient } from '../../src/io/http/client';
import { CLOSURE_A, CLOSURE_B, enrolled, keys, raw, startCp, type AgentFiles } from './support';

const ADMIN = 'quarantine-spec-admin-token';

describe('dev CP quarantine', () => {
  let cp: DevCp;
  let web: { client: CpClient; files: AgentFiles };
  beforeAll(async () => {
    const k = await keys();
    cp = await startCp(k, { adminToken: ADMIN });
    web = await enrolled(cp, k.web, 'web-01');
  });
  afterAll(async () => {
    web.client.close();
    await cp.close();
  });

  const post = (rolloutId: string, event: AgentEvent) => firstValueFrom(web.client.postEvent(encodeJson(AgentEventEnvelope, { hostname: 'web-01', rolloutId, event })));
  const release = (closure: string) =>
    raw(cp, {
      method: 'POST',
      path: '/dev/admin/release',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ closures: { 'web-01': closure }, onHealthFailure: 'rollback-and-halt', soakMinutes: 1 }),
    });

  it('releasing a quarantined closure answers 422 naming the host, the rollout, what failed and where it went back to', async () => {
    const opened = await release(CLOSURE_B);
    expect(opened.status).toBe(200);
    const { rolloutId } = JSON.parse(opened.text()) as { rolloutId: string };
    const at = (s: number) => fromEpochMillis(Date.UTC(2026, 0, 1, 0, 0, s));
    for (const event of [
      { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_A, receivedAt: at(1), seq: 1 },
      { kind: 'ActivationStarted', startedAt: at(2), switchMethod: 'systemd-run', seq: 2 },
      { kind: 'ActivationFailed', exitCode: 1, stderrTail: 'unit failed', failedAt: at(3), seq: 3 },
      { kind: 'RollbackComplete', revertedToClosure: CLOSURE_A, exitCode: 0, completedAt: at(4), seq: 4 },
    ] as AgentEvent[]) {
      expect(await post(rolloutId, event)).toEqual({ kind: 'acked' });
    }
    expect(cp.record(rolloutId, 'web-01')?.state).toBe('Reverted');
    expect(cp.hosts().find((h) => h.hostname === 'web-01')?.quarantinedClosure).toBe(CLOSURE_B);

    const refused = await release(CLOSURE_B);
    expect(refused.status).toBe(422);
    expect(refused.text()).toBe(
      `release: closure ${CLOSURE_B} is quarantined on channel stable: host web-01 failed rollout ${rolloutId}: ` +
        `its activation failed at 2026-01-01T00:00:03Z; rolled back to ${CLOSURE_A} at 2026-01-01T00:00:04Z (a wipe of the database lifts it)`,
    );
    expect(cp.rollouts().map((r) => r.rolloutId)).toEqual([rolloutId]);
    // Another closure is released as usual.
    expect((await release(CLOSURE_A)).status).toBe(200);
  });
});

// A compromised control plane (security review C1, C2, H1, M1): it holds the
// TLS server key but not the CI signing key, so all it can do is say things —
// snapshots in heartbeat answers, dispatch timing. Real agent processes with
// the stand-in host tools; the closure the CP pushes is in the host's store,
// which is the worst case (an older generation, or another host's closure).
// None of it may put the host on a closure no signed manifest names for it,
// or stall the agent.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { encodeJson } from '../../src/codecs/decode';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { HeartbeatResponseWire } from '../../src/codecs/wire';
import type { DemoFleet } from '../../src/demo/fleet';
import type { Reply } from '../../src/devcp/http';
import { E2E_TIMEOUT_MS, explained, fleetOf, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', f?: (buf: Buffer) => void): { bind(p: string): void; close(): void } };

const heartbeatAnswer = (snapshots: readonly HostRolloutSnapshot[]): Reply => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: encodeJson(HeartbeatResponseWire, { received_at: fromEpochMillis(Date.now()), bootstrap_rollouts: [...snapshots] }),
});

const snapshot = (over: Partial<HostRolloutSnapshot> & Pick<HostRolloutSnapshot, 'rolloutId' | 'targetClosure'>): HostRolloutSnapshot => ({
  hostname: 'web-01',
  channel: 'stable',
  state: 'Pending',
  dispatchedAt: fromEpochMillis(Date.now()),
  lastEventSeq: 0,
  ...over,
});

const toolCalls = (fleet: DemoFleet): string => fs.readFileSync(path.join(fleet.agent('web-01').tree.root, 'calls.log'), 'utf8');
const logged = (fleet: DemoFleet, message: string) => fleet.agent('web-01').lines.some((l) => l.message === message);
const running = (fleet: DemoFleet) => fleet.waitFor('agent running', () => (logged(fleet, 'agent running') ? true : undefined));

describe('a compromised control plane cannot choose what runs', () => {
  let fleet: DemoFleet;
  afterEach(async () => fleet?.close());

  /**
   * The CP knows the next rollout id (it is the CI commit): it answers every
   * heartbeat with `plant(rolloutId, evil)` until the agent reacted, then
   * releases the signed rollout and the test waits for it to converge.
   */
  async function plantThenRelease(ciCommit: string, evilName: string, plant: (rolloutId: string, evil: string) => HostRolloutSnapshot[], reacted: string[]) {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    await running(fleet);
    const evil = agent.tree.closure(evilName);
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const planted = `stable@${ciCommit}`;
    fleet.cp.setInterceptor((req) => (req.path === '/v1/agent/heartbeat' ? heartbeatAnswer(plant(planted, evil)) : undefined));
    await fleet.waitFor('the planted snapshots', () => (reacted.some((m) => logged(fleet, m)) ? true : undefined));
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1, ciCommit });
    expect(rolloutId).toBe(planted);
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged'), fleet, rolloutId);
    return { agent, evil, target };
  }

  it('C1: a heartbeat snapshot naming an unsigned target, then the signed dispatch → the signed target runs', async () => {
    const { agent, evil, target } = await plantThenRelease(`c0ffee${'0'.repeat(34)}`, 'nixos-system-EVIL-unsigned', (rolloutId, evil) => [snapshot({ rolloutId, targetClosure: evil })], ['rollout rehydrated (cold)']);
    expect(agent.tree.current()).toBe(target);
    expect(toolCalls(fleet)).not.toContain(evil);
    expect(logged(fleet, 'the control plane named another target than the signed manifest; the signed target wins')).toBe(true);
  });

  it('H1: a snapshot addressed to another host is dropped', async () => {
    const { agent, evil, target } = await plantThenRelease(
      `0ddba11${'0'.repeat(33)}`,
      'nixos-system-web-02-v2',
      (rolloutId, evil) => [snapshot({ rolloutId, hostname: 'web-02', targetClosure: evil }), snapshot({ rolloutId: 'stable@other', hostname: 'web-02', state: 'Activating', targetClosure: evil, lastEventSeq: 2 })],
      ['dropped snapshots addressed to another host', 'rollout rehydrated (cold)'],
    );
    expect(agent.tree.current()).toBe(target);
    expect(toolCalls(fleet)).not.toContain(evil);
    expect(logged(fleet, 'dropped snapshots addressed to another host')).toBe(true);
    expect(logged(fleet, 'rollout rehydrated (cold)')).toBe(false);
  });

  it('C2: after a restart, an "interrupted" activation that only a snapshot describes is not resumed', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged'), fleet, rolloutId);
    expect(await agent.stop('SIGTERM')).toBe(0);
    const evil = agent.tree.closure('nixos-system-EVIL-unsigned');
    let served = 0;
    fleet.cp.setInterceptor((req) => {
      if (req.path !== '/v1/agent/heartbeat') return undefined;
      served += 1;
      return heartbeatAnswer([snapshot({ rolloutId: `stable@${'b'.repeat(40)}`, state: 'Activating', targetClosure: evil, currentClosureAtDispatch: evil, lastEventSeq: 2 })]);
    });
    agent.lines.length = 0;
    agent.start();
    await fleet.waitFor('three hostile heartbeats', () => (served >= 3 ? true : undefined));
    expect(agent.tree.current()).toBe(target);
    expect(toolCalls(fleet)).not.toContain(evil);
    expect(logged(fleet, 'not resuming: this agent accepted no signed dispatch for the rollout (the record comes from the control plane)')).toBe(true);
  });
});

describe('a snapshot flood leaves the agent responsive', () => {
  let fleet: DemoFleet;
  let dir: string;
  let server: { close(): void } | undefined;
  afterEach(async () => {
    await fleet?.close();
    server?.close();
  });

  it('M1: 4,000 snapshots per answer (under the body cap) and 10,000 (over it): watchdog fed, own rollout converges and is saved', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flood-'));
    const pings: number[] = [];
    const socket = unix.createSocket('unix_dgram', (buf) => {
      if (buf.toString().split('\n').includes('WATCHDOG=1')) pings.push(performance.now());
    });
    socket.bind(path.join(dir, 'notify'));
    server = socket;
    // A ping every 0.5 s; upstream's unit would kill an agent silent for WatchdogSec (60 s).
    fleet = await fleetOf(['web-01'], { agentEnv: { NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '1000000' }, logLevel: 'info' });
    const agent = fleet.agent('web-01');
    agent.start();
    await running(fleet);
    const evil = agent.tree.closure('nixos-system-EVIL-unsigned');
    const answer = (n: number, tag: string) => heartbeatAnswer(Array.from({ length: n }, (_, i) => snapshot({ rolloutId: `stable@${tag}${i}`, targetClosure: evil })));
    const answers = [answer(4_000, 'a'), answer(10_000, 'b')];
    expect(Buffer.byteLength(String(answers[0]?.body))).toBeLessThan(1024 * 1024);
    expect(Buffer.byteLength(String(answers[1]?.body))).toBeGreaterThan(1024 * 1024);
    let served = 0;
    fleet.cp.setInterceptor((req) => (req.path === '/v1/agent/heartbeat' ? answers[served++ % answers.length] : undefined));
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    const flooding = performance.now();
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged'), fleet, rolloutId);
    await fleet.waitFor('six flooded answers', () => (served >= 6 ? true : undefined));
    const during = pings.filter((t) => t >= flooding);
    const gaps = during.slice(1).map((t, i) => t - (during[i] ?? t));
    // Generous for a loaded CI machine: the review measured 34 s and more.
    expect(Math.max(...gaps)).toBeLessThan(5_000);
    expect(agent.tree.current()).toBe(target);
    expect(toolCalls(fleet)).not.toContain(evil);
    expect(agent.lines.filter((l) => l.message === 'could not save the rollout records')).toEqual([]);
    expect(await agent.stop('SIGTERM')).toBe(0);
    const db = new Database(path.join(agent.stateDir, 'agent.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT rollout_id AS id, signed_intent AS intent FROM rollout_record').all() as { id: string; intent: string | null }[];
      expect(rows.find((r) => r.id === rolloutId)?.intent).toContain(target);
      expect(rows.length).toBeLessThanOrEqual(16 + 64);
    } finally {
      db.close();
    }
  });
});

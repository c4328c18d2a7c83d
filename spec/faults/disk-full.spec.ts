// The agent's disk fills up during a rollout: a real daemon whose state dir is
// a small tmpfs, filled to the last byte mid-soak, then freed. Its events go
// out from memory while the disk refuses them and reach the disk once it has
// room; the CP sees every event once and ends where it ends without the fault.
// The daemon runs in a user + mount namespace of its own (`unshare -rm`), where
// it mounts the tmpfs: no root needed. The spec reaches that file system
// through /proc/<pid>/root, and runs `status` in it with nsenter.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { DemoFleet } from '../../src/demo/fleet';
import { explained, fleetOf, received, shape, waitState } from '../e2e/support';

jest.setTimeout(300_000);

const TMPFS_SIZE = '16m';

/** Writes until the file system says ENOSPC; returns the filler's path. */
function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  // the last few bytes too, so not even one more page fits
  try {
    for (;;) fs.writeSync(fd, chunk, 0, 512);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

/**
 * `status` run inside the daemon's namespaces (SQLite resolves the
 * /proc/<pid>/root link and would open the empty directory under the mount).
 */
const status = (pid: number | undefined, stateDir: string) =>
  JSON.parse(
    execFileSync('nsenter', ['-t', String(pid), '-U', '-m', '--preserve-credentials', process.execPath, path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js'), 'status', '--state-dir', stateDir, '--json']).toString(),
  ) as {
    queue: { queued: number };
    rollouts: Array<{ rolloutId: string; state: string }>;
  };

describe('faults: the disk fills up during a rollout', () => {
  let fleet: DemoFleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it('events are held in memory and sent from there, written once space is back; the CP sees each once, Converged', async () => {
    // `exec "$@"`: the daemon itself is the process in the namespace (signals reach it).
    const mountTmpfs = (_host: string, stateDir: string) => ['unshare', '-rm', 'sh', '-c', `mkdir -p "$0" && mount -t tmpfs -o size=${TMPFS_SIZE},mode=0700 tmpfs "$0" && exec "$@"`, stateDir];
    fleet = await fleetOf(['web-01'], { agentWrapper: mountTmpfs });
    const agent = fleet.agent('web-01');
    agent.start();
    // The tmpfs as the daemon sees it.
    const view = () => path.join('/proc', String(agent.child?.pid), 'root', agent.stateDir);
    const closure = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': closure }, policy: 'halt', soakMinutes: 0.5 });
    await waitState(fleet, rolloutId, 'web-01', 'Soaking', 120_000);

    const filler = fillUp(view());
    const held = () => agent.lines.filter((l) => l.message === 'the disk refused an event: held in memory' || l.message.startsWith('commit failed: its events are held'));
    // probe results keep coming every tick: the disk refuses them, the CP still gets them
    await fleet.waitFor('an event held in memory', () => (held().length > 0 ? true : undefined), 60_000);
    const deliveredBefore = agent.delivered;
    await fleet.waitFor('a held event delivered from memory', () => (agent.delivered > deliveredBefore ? true : undefined), 60_000);

    fs.rmSync(filler);
    await explained(waitState(fleet, rolloutId, 'web-01', 'Converged', 150_000), fleet, rolloutId);
    await fleet.waitFor('nothing held in memory', () => (agent.lines.some((l) => l.message === 'no event held in memory any more') ? true : undefined), 60_000);

    const applied = received(fleet, rolloutId, 'web-01'); // throws on a seq gap or a seq counted twice
    expect(shape(applied)).toEqual(['DispatchAck', 'ActivationStarted', 'ActivationCompleted', 'ProbeTopologyDeclared', 'ProbeObservedFirst', 'ProbeResult', 'Converged']);
    expect(fleet.cp.events(rolloutId).filter((e) => e.outcome === 'rejected')).toEqual([]);
    expect(fleet.cp.record(rolloutId, 'web-01')).toMatchObject({ state: 'Converged', currentClosure: closure });
    expect(agent.lines.filter((l) => /event LOST/.test(l.message))).toEqual([]);
    expect(agent.child?.exitCode).toBeNull();
    // the records the full disk refused were written by a later turn: the saved state is Converged, nothing queued
    await fleet.waitFor('the queue on disk empty', () => (status(agent.child?.pid, agent.stateDir).queue.queued === 0 ? true : undefined), 30_000);
    const saved = status(agent.child?.pid, agent.stateDir);
    expect(saved.rollouts).toEqual([expect.objectContaining({ rolloutId, state: 'Converged' })]);
  });
});

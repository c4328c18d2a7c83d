// The agent's disk fills up during a rollout: a real daemon whose state dir is
// a small tmpfs, filled to the last byte mid-soak, then freed. Its events go
// out from memory while the disk refuses them and reach the disk once it has
// room; the CP sees every event once and ends where it ends without the fault.
// Mounting needs root, which CI has (a failure to mount fails the test).
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

const status = (stateDir: string) =>
  JSON.parse(execFileSync(process.execPath, [path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js'), 'status', '--state-dir', stateDir, '--json']).toString()) as {
    queue: { queued: number };
    rollouts: Array<{ rolloutId: string; state: string }>;
  };

describe('faults: the disk fills up during a rollout', () => {
  let fleet: DemoFleet | undefined;
  let mounted: string | undefined;
  afterEach(async () => {
    await fleet?.close();
    if (mounted !== undefined) execFileSync('umount', ['-l', mounted]);
    fleet = undefined;
    mounted = undefined;
  });

  it('events are held in memory and sent from there, written once space is back; the CP sees each once, Converged', async () => {
    fleet = await fleetOf(['web-01']);
    const agent = fleet.agent('web-01');
    fs.mkdirSync(agent.stateDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', agent.stateDir]);
    mounted = agent.stateDir;
    agent.start();
    const closure = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': closure }, policy: 'halt', soakMinutes: 0.5 });
    await waitState(fleet, rolloutId, 'web-01', 'Soaking', 120_000);

    const filler = fillUp(agent.stateDir);
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
    await fleet.waitFor('the queue on disk empty', () => (status(agent.stateDir).queue.queued === 0 ? true : undefined), 30_000);
    expect(status(agent.stateDir).rollouts).toEqual([expect.objectContaining({ rolloutId, state: 'Converged' })]);
  });
});

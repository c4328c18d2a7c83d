// Swapping agents mid-rollout (README "Switching from / back to the Rust
// agent"). A state directory as the Rust agent leaves it mid-soak — the
// client certificate, the manifest cache in upstream's layout, and the events
// it could not deliver as files in `outbound-queue/` — with no database of
// ours: this agent started on it sends every one of those events, each once,
// and the rollout then ends as it should (converges; or fails its probe and
// rolls back). The state directory is made by a run of this agent that could
// not reach the CP, its queue handed over by `export-queue` (whose files are
// checked against upstream's layout here and byte for byte in
// spec/store/upstream-queue.spec.ts), and its database removed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { AGENT_BIN, type DemoFleet } from '../../src/demo/fleet';
import { decodeQueueFile, UPSTREAM_QUEUE_DIR } from '../../src/io/store/upstream-queue';
import { E2E_TIMEOUT_MS, explained, fleetOf, received, transitionLine, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

const HOST = 'web-01';
// Field order of a queue file as upstream's serde writes it (spec/fixtures/upstream-queue).
const FIXTURE = path.resolve(__dirname, '../fixtures/upstream-queue', UPSTREAM_QUEUE_DIR);
const FIXTURE_KEYS = Object.keys(JSON.parse(fs.readFileSync(path.join(FIXTURE, fs.readdirSync(FIXTURE)[0] as string), 'utf8')) as object);

/**
 * Runs the rollout until the agent is soaking with events it could not
 * deliver (the CP unreachable for everything but the dispatch), kills it,
 * hands its queue over in upstream's layout and removes its database.
 * Returns the handed-over events as `kind#seq`.
 */
async function leftMidSoak(fleet: DemoFleet, rolloutId: string, lastKind: string): Promise<string[]> {
  const agent = fleet.agent(HOST);
  await fleet.waitFor('DispatchAck applied', () => (fleet.cp.events(rolloutId).some((e) => e.event.kind === 'DispatchAck') ? true : undefined));
  // From now on the CP is out of reach (its enrollment aside): events pile up.
  fleet.cp.setInterceptor((req) => (req.path.startsWith('/v1/') && req.path !== '/v1/enroll' ? { status: 503, body: 'unreachable' } : undefined));
  const queued = (): number => agent.lines.findIndex((l) => l.message === 'event queued' && l['kind'] === lastKind);
  await explained(
    fleet.waitFor(`${lastKind} queued`, () => (queued() >= 0 ? true : undefined)),
    fleet,
    rolloutId,
  );
  // That line is written inside its turn's transaction; the drain pass the
  // event kicks reads only committed rows, so its refused POST says the
  // commit is done (a SIGKILL in between, under load, lost the event).
  await fleet.waitFor(`${lastKind} committed`, () => (agent.lines.slice(queued()).some((l) => l.message === 'event not delivered; will retry') ? true : undefined));
  expect(await agent.stop('SIGKILL')).toBe(-1);

  const exported = spawnSync(process.execPath, [AGENT_BIN, 'export-queue', '--state-dir', agent.stateDir], { encoding: 'utf8' });
  expect(exported.stderr).toBe('');
  expect(exported.status).toBe(0);
  const dir = path.join(agent.stateDir, UPSTREAM_QUEUE_DIR);
  const files = fs.readdirSync(dir).sort();
  const sent = new Set(fleet.cp.events(rolloutId).map((e) => `${e.event.kind}#${e.event.seq}`));
  const pending = files.map((name) => {
    expect(name).toMatch(new RegExp(`^\\d{20}-${HOST}-${rolloutId.replace(/[^A-Za-z0-9@.-]/g, '_')}-[A-Za-z]+\\.json$`));
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(FIXTURE_KEYS);
    const ev = decodeQueueFile(name, text);
    if (E.isLeft(ev)) throw ev.left;
    expect(name.startsWith(String(ev.right.seq).padStart(20, '0'))).toBe(true);
    return `${ev.right.event_kind}#${ev.right.seq}`;
  });
  expect(pending.some((k) => k.startsWith(`${lastKind}#`))).toBe(true);
  expect(pending.filter((k) => sent.has(k))).toEqual([]);
  // What the Rust agent leaves: no database of ours.
  for (const f of ['agent.sqlite', 'agent.sqlite-wal', 'agent.sqlite-shm']) fs.rmSync(path.join(agent.stateDir, f), { force: true });
  fleet.cp.setInterceptor(undefined);
  return pending;
}

/** Each handed-over event applied by the CP exactly once; the whole stream contiguous, nothing rejected. */
function expectEachOnce(fleet: DemoFleet, rolloutId: string, pending: readonly string[]): string[] {
  const kinds = received(fleet, rolloutId, HOST); // throws on a gap, a seq applied twice, a rejection
  for (const k of pending) expect(kinds.filter((x) => x === k)).toEqual([k]);
  return kinds;
}

/** A rollout of a good closure (halt, a 24 s soak), left mid-soak by the "Rust agent". */
async function goodRolloutLeftMidSoak(fleet: DemoFleet) {
  const agent = fleet.agent(HOST);
  agent.start();
  const target = agent.tree.closure('nixos-system-web-01-v2');
  const { rolloutId } = fleet.cp.release({ closures: { [HOST]: target }, policy: 'halt', soakMinutes: 0.4 });
  return { agent, target, rolloutId, pending: await leftMidSoak(fleet, rolloutId, 'ProbeResult') };
}

describe('end to end, swapping agents mid-rollout', () => {
  let fleet: DemoFleet;
  afterEach(async () => fleet?.close());

  it('started on the Rust agent’s state mid-soak: its queued events reach the CP once each, and the rollout converges', async () => {
    fleet = await fleetOf([HOST]);
    const { agent, target, rolloutId, pending } = await goodRolloutLeftMidSoak(fleet);
    expect(pending.map((k) => k.split('#')[0])).toEqual(expect.arrayContaining(['ActivationCompleted', 'ProbeTopologyDeclared']));
    expect(fleet.cp.record(rolloutId, HOST)?.state).not.toBe('Soaking');

    const from = agent.lines.length;
    agent.start();
    await explained(waitState(fleet, rolloutId, HOST, 'Converged', 90_000), fleet, rolloutId);
    const lines = agent.lines.slice(from);
    expect(lines.find((l) => l.message === "imported the Rust agent's outbound queue")).toMatchObject({ imported: pending.length, notImported: 0 });
    // The imported events went out before the boot handshake, so the CP's
    // snapshot already said Soaking; the soak then ended here, on this agent's probes.
    expect(lines.find((l) => l.message === 'rollout rehydrated (cold)')).toMatchObject({ rolloutId, state: 'Soaking' });
    await fleet.waitFor('agent-side Converged', () => (agent.lines.slice(from).some(transitionLine('Converged', 'Soaking')) ? true : undefined));
    const kinds = expectEachOnce(fleet, rolloutId, pending);
    expect(kinds[kinds.length - 1]).toMatch(/^Converged#/);
    expect(fleet.cp.record(rolloutId, HOST)).toMatchObject({ state: 'Converged', currentClosure: target });
    expect(fs.existsSync(path.join(agent.stateDir, UPSTREAM_QUEUE_DIR))).toBe(false);
  });

  it('the CP refuses events for a while after the swap: the events this agent makes take seqs above the imported ones, nothing is lost', async () => {
    fleet = await fleetOf([HOST]);
    const { agent, rolloutId, pending } = await goodRolloutLeftMidSoak(fleet);
    const highest = Math.max(...pending.map((k) => Number(k.split('#')[1])));

    // Heartbeats pass (the CP learns the closure from them), events do not.
    fleet.cp.setInterceptor((req) => (req.path === '/v1/agent/events' ? { status: 503, body: 'busy' } : undefined));
    const from = agent.lines.length;
    agent.start();
    const made = () => agent.lines.slice(from).filter((l) => l.message === 'event queued').map((l) => Number(l['seq']));
    await explained(fleet.waitFor('an event made after the swap', () => (made().length > 0 ? true : undefined), 30_000), fleet, rolloutId);
    fleet.cp.setInterceptor(undefined);
    await explained(waitState(fleet, rolloutId, HOST, 'Converged', 90_000), fleet, rolloutId);
    // Seeded from the counters the import raised: never a seq the imported events hold.
    expect(Math.min(...made())).toBeGreaterThan(highest);
    expect(agent.lines.slice(from).filter((l) => /LOST|seq-reused/.test(`${l.message} ${String(l['code'] ?? '')}`))).toEqual([]);
    // Every imported event reached the CP once (the CP may have synthesised some
    // from the heartbeat first and then took the real one as a duplicate or refused it as out of turn).
    const got = fleet.cp.events(rolloutId).map((e) => `${e.event.kind}#${e.event.seq}`);
    for (const k of pending) expect(got.filter((x) => x === k).length).toBeGreaterThanOrEqual(1);
  });

  it('the same with a probe that fails: Failed after the threshold, rolled back to the closure before, Reverted', async () => {
    fleet = await fleetOf([HOST]);
    const agent = fleet.agent(HOST);
    agent.start();
    const bad = agent.tree.closure('nixos-system-web-01-broken', 'broken');
    const { rolloutId } = fleet.cp.release({ closures: { [HOST]: bad }, policy: 'rollback-and-halt', soakMinutes: 5 });
    const pending = await leftMidSoak(fleet, rolloutId, 'ProbeFailureFirst');

    const from = agent.lines.length;
    agent.start();
    await explained(waitState(fleet, rolloutId, HOST, 'Reverted', 90_000), fleet, rolloutId);
    expect(agent.lines.slice(from).find((l) => l.message === 'rollout rehydrated (cold)')).toMatchObject({ rolloutId, state: 'Soaking' });
    const kinds = expectEachOnce(fleet, rolloutId, pending);
    expect(kinds.map((k) => k.split('#')[0]).slice(-2)).toEqual(['Failed', 'RollbackComplete']);
    expect(fleet.cp.record(rolloutId, HOST)).toMatchObject({ state: 'Reverted', revertedTo: fleet.good.get(HOST), policyApplied: 'rollback-and-halt' });
    expect(agent.tree.current()).toBe(fleet.good.get(HOST));
  });
});

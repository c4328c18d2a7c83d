// Rollback when the pre-dispatch closure is the failed target itself: after a
// swap from the Rust agent (it reports the target as `currentClosureAtDispatch`
// in its DispatchAck, and the CP's snapshot carries that back), or when
// /run/current-system was unreadable at dispatch (src/sources/longpoll.ts
// falls back to the target). The whole path runs: the graph in virtual time on
// fakes, except the rollback, which is the real NixOS adapter on a temporary
// host tree with real stand-in tools; the host must land on a closure it ran
// before, never re-switch the one that failed (docs/compatibility.md S3b).
import { firstValueFrom, of, timeout, VirtualTimeScheduler, filter, take } from 'rxjs';
import type { ActivationPort } from '../../src/ports/activation';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { createNixosActivation } from '../../src/io/activation';
import type { AgentEffect, ReducerInput } from '../../src/reducer/agent';
import { manifestSet, probe } from '../fakes/ports';
import { harness, type Harness } from '../support/graph-harness';
import { HostTree } from '../io/activation/host-tree';

const ROLLOUT = 'stable@r1';

interface Case {
  readonly name: string;
  /** The profile's generations, oldest first; the last one runs. */
  readonly generations: readonly ('older' | 'good' | 'bad')[];
  /** How the record came to be: a CP snapshot at boot, or a dispatch with what the host read then. */
  readonly via: { readonly snapshot: true } | { readonly dispatchRead: 'older' | undefined };
  /** Where the rollback lands, or the phase of a rollback that ran nothing. */
  readonly expect: { readonly revertedTo: 'older' | 'good' } | { readonly failedPhase: string };
  readonly proof: string;
}

const CASES: readonly Case[] = [
  { name: 'cold rehydrate from a Rust agent’s snapshot (pre-dispatch = target)', generations: ['older', 'good', 'bad'], via: { snapshot: true }, proof: 'previous-generation', expect: { revertedTo: 'good' } },
  { name: '/run/current-system unreadable at dispatch (the target reported)', generations: ['older', 'good', 'bad'], via: { dispatchRead: undefined }, proof: 'previous-generation', expect: { revertedTo: 'good' } },
  { name: 'cold rehydrate with no generation but the failed one: nothing runs', generations: ['bad'], via: { snapshot: true }, proof: 'previous-generation', expect: { failedPhase: 'no-previous-generation' } },
  // Control: what the agent read itself is where it goes, not the newest other generation.
  { name: 'the running system read at dispatch', generations: ['older', 'good', 'bad'], via: { dispatchRead: 'older' }, proof: 'own-record', expect: { revertedTo: 'older' } },
];

let tree: HostTree;
afterEach(() => tree.remove());

/** Runs virtual time to `ms`, then waits (real time) for a reducer input `done` accepts. */
async function flushUntil(vts: VirtualTimeScheduler, h: Harness, ms: number, done: (i: ReducerInput) => boolean): Promise<void> {
  const seen = firstValueFrom(h.graph.inputs$.pipe(filter(done), take(1), timeout({ first: 10_000 })));
  vts.maxFrames = ms;
  vts.flush();
  await seen;
}

const emitted = (effects: readonly { effect: AgentEffect }[], kinds: readonly string[]) =>
  effects.flatMap(({ effect }) => (effect.kind === 'LocalEmitEvent' && kinds.includes(effect.payload.kind) ? [effect.payload] : []));

describe('rollback when the pre-dispatch closure is the failed target', () => {
  it.each(CASES)('$name → $proof', async (c) => {
    tree = new HostTree();
    const closures = { older: tree.closure('nixos-system-web-01-25.05'), good: tree.closure('nixos-system-web-01-25.11'), bad: tree.closure('nixos-system-web-01-26.05') };
    tree.boot(...c.generations.map((g) => closures[g]));
    const snapshot: HostRolloutSnapshot = {
      rolloutId: ROLLOUT,
      hostname: 'web-01',
      channel: 'stable',
      state: 'Soaking',
      targetClosure: closures.bad,
      currentClosureAtDispatch: closures.bad,
      currentClosure: closures.bad,
      dispatchedAt: fromEpochMillis(0),
      soakDueAt: fromEpochMillis(3_600_000),
      lastEventSeq: 3,
    };
    const vts = new VirtualTimeScheduler();
    const h = harness(vts, { manifests: manifestSet('rollback-and-halt'), probes: [probe('web')], ...('snapshot' in c.via ? { bootstrap$: of(snapshot) } : {}) });
    if ('dispatchRead' in c.via) {
      const read = c.via.dispatchRead === undefined ? undefined : closures[c.via.dispatchRead];
      h.host.closure = read;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 3_600_000, ROLLOUT, closures.bad)];
    }
    h.probes.result = () => ({ status: 'fail', failureReason: 'HTTP 500' });
    const adapter = createNixosActivation(tree.config());
    const label = (closure: string) => Object.entries(closures).find(([, v]) => v === closure)?.[0] ?? closure;
    const asked: string[] = [];
    (h.activation as ActivationPort).rollback = (closure, proof, failedTarget, options) => {
      asked.push(`${label(closure)}:${proof}:${label(failedTarget)}`);
      return adapter.rollback(closure, proof, failedTarget, options);
    };

    // A rollback that runs nothing comes back as an ActivationFailed naming its phase.
    await flushUntil(vts, h, 200_000, (i) => i.kind === 'HostEvent' && (i.event.kind === 'LocalRollbackCompleted' || (i.event.kind === 'LocalActivationFailed' && i.event.stderrTail.startsWith('rollback failed'))));
    vts.maxFrames = 210_000;
    vts.flush();

    const expectedClosure = 'dispatchRead' in c.via && c.via.dispatchRead !== undefined ? 'older' : 'bad';
    expect(asked).toEqual([`${expectedClosure}:${c.proof}:bad`]);
    const record = h.graph.state().hosts[ROLLOUT];
    if ('revertedTo' in c.expect) {
      const to = closures[c.expect.revertedTo];
      expect(tree.current()).toBe(to);
      expect(tree.profileTarget()).toBe(to);
      expect(emitted(h.effects, ['RollbackComplete'])).toEqual([expect.objectContaining({ kind: 'RollbackComplete', revertedToClosure: to })]);
      expect(record).toMatchObject({ state: 'Reverted', revertedTo: to });
    } else {
      expect(tree.current()).toBe(closures.bad);
      expect(emitted(h.effects, ['RollbackComplete'])).toEqual([]);
      // The host stays Failed on the failed closure: the adapter says why, and step() has no transition for it.
      expect(tree.logs.map((l) => l.message)).toContain('activation: no profile generation other than the failed target to return to');
      expect(h.logger.lines).toContainEqual(expect.objectContaining({ message: 'step() rejected event', fields: expect.objectContaining({ event: 'LocalActivationFailed' }) }));
      expect(record?.state).toBe('Failed');
    }
  });
});

// Properties of step() over random inputs (fast-check, >= 1,000 runs each):
// it never throws, never mutates its input, and an error never changes state.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { EVENT_KINDS, type Event, type EventKind } from '../../src/codecs/events';
import type { HostRolloutState } from '../../src/codecs/host-state';
import type { HostState } from '../../src/codecs/scalars';
import { step } from '../../src/reducer';
import { arbEvent, arbEventOfKind, arbState, arbTimestamp } from '../support/arbitraries';
import { at, newPendingFixture, policy } from '../support/fixtures';

const RUNS = { numRuns: 1000 };

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

// Event kinds a state handles (reference §7.1), to steer walks deep into the machine.
const HANDLED: Record<HostState, readonly EventKind[]> = {
  Pending: ['LocalActivate', 'RemoteDispatchAck'],
  Activating: EVENT_KINDS.filter((k) => /Activation(Started|Completed|Deferred|Failed)$/.test(k)),
  Deferred: EVENT_KINDS.filter((k) => /Activation(Completed|Failed)$/.test(k)),
  Soaking: EVENT_KINDS.filter((k) => /Probe|SustainedFailure|RemoteFailed|Converge/.test(k)),
  Converged: [],
  Failed: ['LocalRollbackCompleted', 'RemoteRollbackComplete'],
  Reverted: [],
};

const arbPolicy = fc.constantFrom(policy('halt'), policy('rollback-and-halt'));

/** Step through a sequence, checking the per-step properties; returns the visited states. */
function walk(initial: HostRolloutState, events: Event[], p: ReturnType<typeof policy>): HostState[] {
  let s = deepFreeze(initial);
  const visited: HostState[] = [s.state];
  for (const e of events) {
    const before = JSON.stringify(s);
    const r = step(s, deepFreeze(e), p, at(0));
    expect(JSON.stringify(s)).toBe(before);
    if (E.isLeft(r)) {
      expect(['IllegalForState', 'SeqRegression', 'Invariant']).toContain(r.left.kind);
      continue; // the caller keeps s
    }
    expect(r.right.state.lastEventSeq).toBe(e.seq);
    s = deepFreeze(r.right.state);
    visited.push(s.state);
  }
  return visited;
}

describe('step() properties', () => {
  it('arbitrary state × arbitrary event: never throws, never mutates, errors leave state as it was', () => {
    fc.assert(
      fc.property(arbState, arbEvent, arbPolicy, arbTimestamp, (s, e, p, now) => {
        const frozen = deepFreeze(s);
        const before = JSON.stringify(frozen);
        const r = step(frozen, deepFreeze(e), p, now);
        expect(JSON.stringify(frozen)).toBe(before);
        if (E.isRight(r)) expect(r.right.state.lastEventSeq).toBe(e.seq);
      }),
      RUNS,
    );
  });

  it('random event sequences from Pending: same properties at every step', () => {
    const arbSeqOfEvents = fc.array(arbEvent, { maxLength: 25 });
    fc.assert(fc.property(arbSeqOfEvents, arbPolicy, (events, p) => void walk(newPendingFixture(), events, p)), RUNS);
  });

  it('steered walks reach all 7 states and keep the properties', () => {
    const reached = new Set<HostState>();
    fc.assert(
      fc.property(fc.gen(), arbPolicy, (g, p) => {
        // Each next event is drawn among the kinds the current state handles, with the next seq.
        const events: Event[] = [];
        let s = newPendingFixture();
        for (let i = 0; i < 12 && HANDLED[s.state].length > 0; i++) {
          const kind = g(fc.constantFrom, ...HANDLED[s.state]);
          let e = g(arbEventOfKind, kind, fc.constant(s.lastEventSeq + 1));
          // Give convergence a fair chance: the right closure, at the soak deadline.
          if ((e.kind === 'LocalConvergedReached' || e.kind === 'RemoteConverged') && g(fc.boolean)) {
            e = { ...e, currentClosure: s.targetClosure, convergedAt: s.soakDueAt ?? e.convergedAt };
          }
          events.push(e);
          const r = step(s, e, p, at(0));
          if (E.isRight(r)) s = r.right.state;
        }
        for (const visited of walk(newPendingFixture(), events, p)) reached.add(visited);
      }),
      RUNS,
    );
    expect([...reached].sort()).toEqual(['Activating', 'Converged', 'Deferred', 'Failed', 'Pending', 'Reverted', 'Soaking']);
  });
});

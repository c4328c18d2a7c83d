// The whole graph on in-memory ports, in virtual time: complete rollouts and
// the soak and failure timing rules end to end, at upstream's periods. The
// rollout's states are marble diagrams (STATES: n none, a Activating, s
// Soaking, c Converged, f Failed, r Reverted; `|` is the stop). Shutdown and
// the effect and request timelines: graph-marbles.spec.ts.
import { filter, NEVER, of } from 'rxjs';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { manifestSet, probe } from '../fakes/ports';
import { harness, STATES } from '../support/graph-harness';
import { marbles } from '../support/marbles';

describe('agent graph, complete rollouts in virtual time', () => {
  it('dispatch → activation → probes → soak → Converged, at soakDueAt exactly', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { probes: [probe('web')] });
      h.activation.durationMs = 9_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 8999ms s 289999ms c 99999ms |', STATES);
      h.at(() => {
        expect(h.queued()).toEqual(expect.arrayContaining(['DispatchAck:1', 'ActivationStarted:2', 'ActivationCompleted:3', 'ProbeTopologyDeclared:4', 'Converged:' + String(h.queued().length)]));
        const seqs = h.queued().map((q) => Number(q.split(':')[1]));
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        expect(h.cp.postedEvents()).toEqual(h.queued());
      }, 399_000);
    });
  });

  it('a late soak deadline converges at the first tick at or after it', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts);
      h.activation.durationMs = 9_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 302_000)];
      h.stopAt(400_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 8999ms s 294999ms c 94999ms |', STATES);
    });
  });

  it('enforce probe failing from 10 s: Failed exactly at 130 s (120 s sustained), rollback, Reverted', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { manifests: manifestSet('rollback-and-halt'), probes: [probe('web')] });
      h.activation.durationMs = 9_000;
      h.probes.result = () => ({ status: 'fail', failureReason: 'HTTP 500' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 3_600_000)];
      h.stopAt(200_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 8999ms s 119999ms f 8999ms r 60999ms |', STATES);
      expectObservable(h.requests$.pipe(filter((r) => r === 'switch' || r === 'rollback'))).toBe('1s w 128999ms b', { w: 'switch', b: 'rollback' });
      h.at(() => {
        expect(h.activation.calls.map((c) => c.arg)).toEqual([
          { closure: 'target-closure', rollback: false },
          { closure: 'prior-closure', rollback: true },
        ]);
        const failed = h.effects.find((e) => e.effect.kind === 'LocalEmitEvent' && e.effect.payload.kind === 'Failed');
        expect(failed?.effect).toMatchObject({ payload: { sustainedDurationSecs: 120, failingProbes: ['web'], policyApplied: 'rollback-and-halt' } });
        // Probes of the failed rollout are stopped: no run after 130 s.
        expect(h.probes.runs.every((r) => r.at <= 130_000)).toBe(true);
      }, 199_000);
    });
  });

  it('observe and disabled probes failing never fail the host; it converges', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { probes: [probe('ev', 'observe'), probe('off', 'disabled')] });
      h.probes.result = () => ({ status: 'fail' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 9999ms s 288999ms c 99999ms |', STATES);
      h.at(() => expect(h.probes.runs.map((r) => r.arg)).not.toContain('off'), 399_000);
    });
  });

  it('halt policy: an activation failure is Failed with no rollback', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts);
      h.activation.forward = () => ({ kind: 'SwitchFailed', phase: 'systemd-run-fire', exitCode: 1 });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(60_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 9999ms f 48999ms |', STATES);
      h.at(() => {
        expect(h.activation.calls).toHaveLength(1);
        expect(h.queued()).toEqual(['DispatchAck:1', 'ActivationStarted:2', 'ActivationFailed:3']);
      }, 59_000);
    });
  });

  it('a dispatch that arrives before any policy is held and applied when the manifests arrive', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts);
      h.manifests.refresh = () => NEVER; // no policy at first
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.at(() => h.graph.post({ kind: 'ManifestSetUpdated', manifests: manifestSet() }), 20_000);
      h.stopAt(60_000);
      // The refresh that never answers is abandoned at the stop: the graph ends at once.
      expectObservable(h.rolloutState$()).toBe('n 19999ms a 9999ms s 29999ms |', STATES);
    });
  });

  it('boot snapshots are applied before any source acts, and raise — never lower — the seq', () => {
    marbles((ts, { expectObservable }) => {
      const snapshot = {
        rolloutId: 'stable@r1',
        hostname: 'web-01',
        channel: 'stable',
        state: 'Soaking' as const,
        targetClosure: 'target-closure',
        currentClosure: 'target-closure',
        dispatchedAt: fromEpochMillis(0),
        soakDueAt: fromEpochMillis(20_000),
        lastEventSeq: 3,
      };
      const h = harness(ts, { bootstrap$: of(snapshot), seqFloors: { 'stable@r1': 7 } });
      h.stopAt(60_000);
      // Soaking from the snapshot in the first turn, Converged on the 20 s tick.
      expectObservable(h.rolloutState$()).toBe('(ns) 19996ms c 39999ms |', STATES);
      h.at(() => {
        expect(h.inputs[0]?.input.kind).toBe('BootstrapHosts');
        // Probe reset re-declares topology (seq 8, above the queue's 7), then converges.
        expect(h.queued()).toEqual(['ProbeTopologyDeclared:8', 'Converged:9']);
      }, 59_000);
    });
  });
});

// The whole graph on in-memory ports, in virtual time: complete rollouts,
// the soak and failure timing rules end to end, shutdown and its deadline.
import { NEVER, of } from 'rxjs';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { DRAIN_DEADLINE_MS } from '../../src/streams';
import { manifestSet, probe } from '../fakes/ports';
import { harness } from '../support/graph-harness';
import { marbles } from '../support/marbles';

describe('agent graph, complete rollouts in virtual time', () => {
  it('dispatch → activation → probes → soak → Converged, at soakDueAt exactly', () => {
    const started = performance.now();
    marbles((ts) => {
      const h = harness(ts, { probes: [probe('web')] });
      h.activation.durationMs = 9_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      h.at(() => {
        expect(h.transitions()).toEqual(['1:Pending→Activating', '10:Activating→Soaking', '300:Soaking→Converged']);
        expect(h.queued()).toEqual(expect.arrayContaining(['DispatchAck:1', 'ActivationStarted:2', 'ActivationCompleted:3', 'ProbeTopologyDeclared:4', 'Converged:' + String(h.queued().length)]));
        const seqs = h.queued().map((q) => Number(q.split(':')[1]));
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        expect(h.cp.postedEvents()).toEqual(h.queued());
        expect(h.graph.state().hosts['stable@r1']?.state).toBe('Converged');
      }, 399_000);
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a late soak deadline converges at the first tick at or after it', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.activation.durationMs = 9_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 302_000)];
      h.stopAt(400_000);
      h.at(() => expect(h.transitions()).toContain('305:Soaking→Converged'), 399_000);
    });
  });

  it('enforce probe failing from 10 s: Failed exactly at 130 s (120 s sustained), rollback, Reverted', () => {
    marbles((ts) => {
      const h = harness(ts, { manifests: manifestSet('rollback-and-halt'), probes: [probe('web')] });
      h.activation.durationMs = 9_000;
      h.probes.result = () => ({ status: 'fail', failureReason: 'HTTP 500' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 3_600_000)];
      h.stopAt(200_000);
      h.at(() => {
        expect(h.transitions()).toEqual(['1:Pending→Activating', '10:Activating→Soaking', '130:Soaking→Failed', '139:Failed→Reverted']);
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
    marbles((ts) => {
      const h = harness(ts, { probes: [probe('ev', 'observe'), probe('off', 'disabled')] });
      h.probes.result = () => ({ status: 'fail' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      h.at(() => {
        expect(h.transitions()).toEqual(['1:Pending→Activating', '11:Activating→Soaking', '300:Soaking→Converged']);
        expect(h.probes.runs.map((r) => r.arg)).not.toContain('off');
      }, 399_000);
    });
  });

  it('halt policy: an activation failure is Failed with no rollback', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.activation.forward = () => ({ kind: 'SwitchFailed', phase: 'systemd-run-fire', exitCode: 1 });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(60_000);
      h.at(() => {
        expect(h.transitions()).toEqual(['1:Pending→Activating', '11:Activating→Failed']);
        expect(h.activation.calls).toHaveLength(1);
        expect(h.queued()).toEqual(['DispatchAck:1', 'ActivationStarted:2', 'ActivationFailed:3']);
      }, 59_000);
    });
  });

  it('a dispatch that arrives before any policy is held and applied when the manifests arrive', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.manifests.refresh = () => NEVER; // no policy at first
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.at(() => h.graph.post({ kind: 'ManifestSetUpdated', manifests: manifestSet() }), 20_000);
      h.stopAt(60_000);
      h.at(() => expect(h.transitions()[0]).toBe('20:Pending→Activating'), 59_000);
    });
  });

  it('boot snapshots are applied before any source acts, and raise — never lower — the seq', () => {
    marbles((ts) => {
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
      h.at(() => {
        expect(h.inputs[0]?.input.kind).toBe('BootstrapHosts');
        // Probe reset re-declares topology (seq 8, above the queue's 7), then converges at 20 s.
        expect(h.queued()).toEqual(['ProbeTopologyDeclared:8', 'Converged:9']);
      }, 59_000);
    });
  });
});

describe('shutdown', () => {
  it('stops the sources, lets the running activation finish, drains, and completes', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.activation.durationMs = 20_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      const stopped = h.stopAt(5_000);
      h.at(() => {
        expect(stopped).toEqual({ result: 'drained', at: 21_000 });
        expect(h.transitions()).toEqual(['1:Pending→Activating', '21:Activating→Soaking']);
        // The final drain pass sent everything queued before the end.
        expect(h.cp.postedEvents()).toEqual(h.queued());
        expect(h.cp.dispatchCalls).toEqual([0, 1_000]); // re-armed after the dispatch, aborted at the stop
      }, 100_000);
    });
  });

  it('forces the end at the 25 s deadline, cancelling the work still running', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.activation.durationMs = 600_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      const stopped = h.stopAt(5_000);
      h.at(() => {
        expect(stopped).toEqual({ result: 'deadline', at: 5_000 + DRAIN_DEADLINE_MS });
        expect(h.activation.finished).toEqual([]);
      }, 700_000);
    });
  });
});

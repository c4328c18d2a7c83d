// The whole graph in virtual time against a control plane that says what it
// likes in heartbeat answers: the activation port only ever sees the closure
// the (fake) signed manifest names, and one answer is one reducer turn.
import { of } from 'rxjs';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { SNAPSHOTS_PER_ANSWER_CAPACITY } from '../../src/reducer';
import { harness } from '../support/graph-harness';
import { marbles } from '../support/marbles';

const planted = (over: Partial<HostRolloutSnapshot> = {}): HostRolloutSnapshot => ({
  rolloutId: 'stable@r1',
  hostname: 'web-01',
  channel: 'stable',
  state: 'Pending',
  targetClosure: 'evil-unsigned',
  dispatchedAt: fromEpochMillis(0),
  lastEventSeq: 0,
  ...over,
});

describe('graph against a hostile control plane', () => {
  it('a snapshot planted before the signed dispatch: the activation port sees only the signed closure', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.manifests.signed = { 'stable@r1': 'target-closure' };
      h.cp.heartbeatAnswer = () => of({ bootstrapRollouts: [planted(), planted({ rolloutId: 'stable@r2', hostname: 'web-02' })] });
      h.cp.dispatchScript = [h.dispatchAfter(2_000, 600_000)];
      h.stopAt(60_000);
      h.at(() => {
        expect(h.activation.calls.map((c) => c.arg)).toEqual([{ closure: 'target-closure', rollback: false }]);
        expect(h.graph.state().hosts['stable@r2']).toBeUndefined();
        expect(h.logger.messages('error')).toContain('the control plane named another target than the signed manifest; the signed target wins');
      }, 59_000);
    });
  });

  it('one answer with 10,000 snapshots is one reducer turn and leaves a bounded state', () => {
    marbles((ts) => {
      const h = harness(ts);
      const flood = Array.from({ length: 10_000 }, (_, i) => planted({ rolloutId: `stable@f${i}` }));
      h.cp.heartbeatAnswer = () => of({ bootstrapRollouts: flood });
      h.stopAt(30_000);
      h.at(() => {
        expect(h.inputs.filter((i) => i.input.kind === 'BootstrapHosts')).toHaveLength(1);
        expect(Object.keys(h.graph.state().hosts).length).toBeLessThanOrEqual(SNAPSHOTS_PER_ANSWER_CAPACITY);
        expect(h.activation.calls).toEqual([]);
      }, 29_000);
    });
  });
});

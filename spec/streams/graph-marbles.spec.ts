// The whole graph as marble diagrams: on the TestScheduler itself, the
// timelines of the rollout's state, of the effects applied and of the
// requests made to the CP and the activation port, and (expectSubscriptions)
// when shutdown aborts the long-poll and when the drain makes its final pass.
// Time progression: `999ms` moves the frame; each value, `(` and `)` take one.
import { mergeMap, timer } from 'rxjs';
import type { ActivationOutcome } from '../../src/ports/activation';
import type { DeliveryOutcome, DispatchAnswer } from '../../src/ports/control-plane';
import { manifestSet, probe } from '../fakes/ports';
import { harness, STATES } from '../support/graph-harness';
import { marbles } from '../support/marbles';

const EFFECTS = {
  l: 'Log',
  t: 'RecordTransition',
  k: 'DispatchAck',
  w: 'LocalFireSwitch',
  s: 'ActivationStarted',
  c: 'ActivationCompleted',
  z: 'LocalResetProbeCache',
  d: 'ProbeTopologyDeclared',
  o: 'ProbeObservedFirst',
  e: 'ProbeFailureFirst',
  r: 'ProbeResult',
  v: 'Converged',
  x: 'StopProbes',
  C: 'ConfirmClosure',
  f: 'Failed',
  b: 'LocalFireRollbackTo',
  R: 'RollbackComplete',
};
const REQUESTS = { d: 'dispatch', h: 'heartbeat', p: 'post', w: 'switch', b: 'rollback' };

describe('graph timelines', () => {
  it('a dispatch runs to Converged: switch at 1 s, Soaking when it lands, Converged on the tick at soakDueAt', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { probes: [probe('web')] });
      h.activation.durationMs = 9_000;
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 30_000)];
      h.stopAt(40_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 8999ms s 19999ms c 9999ms |', STATES);
      expectObservable(h.effectKinds$).toBe('l 999ms (tkws) 8994ms (zctdor) 4992ms r 4999ms r 4999ms r 4999ms (lvtxC) 9993ms |', EFFECTS);
      expectObservable(h.requests$).toBe('(dh) 996ms (wppd) 8994ms (pppp) 4994ms p 4999ms p 4999ms p 4999ms p', REQUESTS);
    });
  });

  it('an enforce probe failing for the threshold fails the soak on a tick and rolls back', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { manifests: manifestSet('rollback-and-halt'), probes: [probe('web')], sustainedFailureThresholdSecs: 20 });
      h.activation.durationMs = 9_000;
      h.probes.result = () => ({ status: 'fail', failureReason: 'HTTP 500' });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 3_600_000)];
      h.stopAt(60_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 8999ms s 19999ms f 8999ms r 20999ms |', STATES);
      expectObservable(h.effectKinds$).toBe('l 999ms (tkws) 8994ms (zctdoer) 4991ms r 4999ms r 4999ms r 4999ms (llftbx) 8992ms (Rt) 20996ms |', EFFECTS);
      expectObservable(h.requests$).toBe('(dh) 996ms (wppd) 8994ms (ppppp) 4993ms p 4999ms p 4999ms p 4999ms (bp) 8996ms p', REQUESTS);
    });
  });
});

describe('graph shutdown timelines', () => {
  it('aborts the long-poll at once, lets the running switch land, then the drain makes its final pass and the graph is drained', () => {
    const stopped = marbles((ts, { cold, expectObservable, expectSubscriptions }) => {
      const h = harness(ts);
      const heldPoll = cold<DispatchAnswer>('60s (n|)', { n: { kind: 'none' } });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000), () => heldPoll];
      const switchRun = cold<ActivationOutcome>('20s (o|)', { o: { kind: 'FiredAndPolled', observedClosure: 'target-closure' } });
      h.activation.activate = () => switchRun;
      const ack = cold<DeliveryOutcome>('(a|)', { a: { kind: 'acked' } });
      h.cp.postAnswer = () => ack;
      expectSubscriptions(heldPoll.subscriptions).toBe('1s ^ 3999ms !');
      expectSubscriptions(switchRun.subscriptions).toBe('1s ^ 19999ms !');
      // Two posts from the kick at 1 s; the last, at 21 s, is the final pass, after the switch (the last producer) ended.
      expectSubscriptions(ack.subscriptions).toBe(['1s (^!)', '1s (^!)', '21s (^!)']);
      expectObservable(timer(5_000, ts).pipe(mergeMap(() => h.graph.stop()))).toBe('21s (d|)', { d: 'drained' });
      expectObservable(h.rolloutState$()).toBe('n 999ms a 19999ms (s|)', STATES);
      expectObservable(h.effectKinds$).toBe('l 999ms (tkws) 19994ms (zct|)', EFFECTS);
      expectObservable(h.requests$).toBe('(dh) 996ms (wpdp) 19994ms p', REQUESTS);
      return h;
    });
    // The final pass sent everything queued before the end.
    expect(stopped.cp.postedEvents()).toEqual(stopped.queued());
  });

  it('forces the end at the 25 s deadline, cancelling the switch still running', () => {
    marbles((ts, { cold, expectObservable, expectSubscriptions }) => {
      const h = harness(ts);
      const heldPoll = cold<DispatchAnswer>('60s (n|)', { n: { kind: 'none' } });
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000), () => heldPoll];
      const switchRun = cold<ActivationOutcome>('600s (o|)', { o: { kind: 'FiredAndPolled', observedClosure: 'target-closure' } });
      h.activation.activate = () => switchRun;
      expectSubscriptions(heldPoll.subscriptions).toBe('1s ^ 3999ms !');
      expectSubscriptions(switchRun.subscriptions).toBe('1s ^ 28999ms !');
      expectObservable(timer(5_000, ts).pipe(mergeMap(() => h.graph.stop()))).toBe('30s (d|)', { d: 'deadline' });
      expectObservable(h.rolloutState$()).toBe('n 999ms a 28999ms |', STATES);
    });
  });
});

// The canary for time injection: the whole graph on a plain
// VirtualTimeScheduler, outside TestScheduler.run (whose patch of rxjs's
// asyncScheduler would hide a timer that ignores the injected clock). Each
// periodic worker must fire at exactly its virtual times, and no real timer
// may be set: a source that drops its clock argument runs on the real one,
// misses every virtual time below and calls setInterval.
import { VirtualTimeScheduler } from 'rxjs';
import { probe } from '../fakes/ports';
import { harness } from '../support/graph-harness';

/** from, from + by, … up to and including `to`. */
const steps = (from: number, by: number, to: number): number[] => Array.from({ length: Math.floor((to - from) / by) + 1 }, (_, i) => from + i * by);

describe('time injection canary', () => {
  it('every periodic worker of the graph fires at its virtual times, and no real timer is set', () => {
    const realTimers = [jest.spyOn(global, 'setInterval'), jest.spyOn(global, 'setTimeout'), jest.spyOn(global, 'setImmediate')];
    try {
      const vts = new VirtualTimeScheduler();
      const advanceTo = (ms: number): void => {
        vts.maxFrames = ms;
        vts.flush();
      };
      const h = harness(vts, { probes: [probe('web')], renewalThresholdFraction: 0.5 });
      const certChecks: number[] = [];
      const validity = h.cert.validity.bind(h.cert);
      h.cert.validity = () => (certChecks.push(vts.now()), validity());
      const drainPasses: number[] = [];
      const pending = h.queue.pending.bind(h.queue);
      h.queue.pending = (limit) => (drainPasses.push(vts.now()), pending(limit));
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      const stopped = h.stopAt(332_500);
      const inputsAt = (kind: string) => h.inputs.filter((i) => i.input.kind === kind).map((i) => i.at);

      advanceTo(299_999);
      expect(h.graph.state().hosts['stable@r1']?.state).toBe('Soaking');
      advanceTo(300_000); // the soak ends on the ticker's 300 s tick, soakDueAt exactly
      expect(h.graph.state().hosts['stable@r1']?.state).toBe('Converged');
      vts.maxFrames = Infinity;
      vts.flush(); // returns only because the graph stopped: a running graph always has a timer due

      expect(stopped).toEqual({ result: 'drained', at: 332_500 });
      expect(vts.actions).toEqual([]);
      expect(inputsAt('AgentAdvanceTick')).toEqual(steps(5_000, 5_000, 330_000));
      expect(h.cp.heartbeats.map((c) => c.at)).toEqual(steps(0, 60_000, 300_000));
      expect(inputsAt('ManifestSetUpdated')).toEqual(steps(0, 30_000, 330_000));
      expect(certChecks).toEqual(steps(0, 60_000, 300_000));
      // Held 60 s each; re-armed at once after the dispatch and after each empty answer.
      expect(h.cp.dispatchCalls).toEqual([0, 1_000, ...steps(61_000, 60_000, 301_000)]);
      expect(h.activation.calls.map((c) => c.at)).toEqual([1_000]);
      expect(h.activation.finished).toEqual([11_000]);
      // From Soaking (11 s) every 5 s until the probes stop at Converged (300 s).
      expect(h.probes.runs.map((r) => r.at)).toEqual(steps(11_000, 5_000, 296_000));
      // Every 15 s, on kicks after queued events, and the final pass at the stop.
      expect(drainPasses).toEqual(expect.arrayContaining(steps(0, 15_000, 330_000)));
      expect(drainPasses.at(-1)).toBe(332_500);
      expect(h.cp.postedEvents()).toEqual(h.queued());
      expect(realTimers.map((t) => t.mock.calls.length)).toEqual([0, 0, 0]);
    } finally {
      realTimers.forEach((t) => t.mockRestore());
    }
  });
});

// Marble tests (TestScheduler run mode) for each worker's timing rule.
import { EMPTY, map, mergeMap, NEVER, Observable, of, takeUntil, throwError, timer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import type { DispatchAnswer } from '../../src/ports/control-plane';
import { ManifestPortError } from '../../src/ports/manifests';
import type { ActivationIntent, ActivationPort } from '../../src/ports/activation';
import type { ManifestSet } from '../../src/ports/manifests';
import { activationWorker } from '../../src/sources/activation';
import { advanceTicker } from '../../src/sources/advance-ticker';
import { certRenewal } from '../../src/sources/cert-renewal';
import { BoundedQueue } from '../../src/sources/channels';
import type { SourceContext } from '../../src/sources/context';
import { heartbeat } from '../../src/sources/heartbeat';
import { longpoll } from '../../src/sources/longpoll';
import { manifestPoll } from '../../src/sources/manifest-poll';
import { isolate } from '../../src/sources/operators';
import { outboundDrain } from '../../src/sources/outbound-drain';
import { probeWorker, type ProbeCommand } from '../../src/sources/probe';
import { freshnessClockHint } from '../../src/trust/errors';
import { FakeActivation, FakeCert, FakeControlPlane, FakeHost, FakeManifests, FakeProbes, MemoryLogger, probe } from '../fakes/ports';
import { MemoryQueue } from '../fakes/memory-queue';
import { marbles } from '../support/marbles';

function context(ts: TestScheduler, shutdown$: Observable<unknown>): SourceContext & { logger: MemoryLogger } {
  return { scheduler: ts, logger: new MemoryLogger(), shutdown$ };
}

const dispatch = (rolloutId = 'stable@r1'): DispatchAnswer => ({
  kind: 'dispatch',
  dispatch: { hostname: 'web-01', rolloutId, targetClosure: 'target', soakDueAt: fromEpochMillis(300_000), enqueuedAt: fromEpochMillis(1_000) },
});

describe('advance ticker', () => {
  it('ticks every 5 s, the first 5 s after start, until shutdown', () => {
    marbles((ts, { expectObservable, hot }) => {
      const ctx = context(ts, hot('16s a'));
      expectObservable(advanceTicker(ctx)).toBe('5s a 4999ms a 4999ms a 999ms |', { a: { kind: 'AgentAdvanceTick' } });
    });
  });
});

describe('longpoll', () => {
  it('re-arms at once after a held empty answer, 5 s after an error, 1 s after an unheld empty answer', () => {
    marbles((ts, { hot, flush }) => {
      const ctx = context(ts, hot('3m a'));
      const cp = new FakeControlPlane(ts);
      cp.dispatchScript = [
        () => timer(60_000, ts).pipe(map((): DispatchAnswer => ({ kind: 'none' }))), // held 60 s → again at 60 s
        () => timer(2_000, ts).pipe(map(() => { throw new Error('connection reset'); })), // error at 62 s → again at 67 s
        () => of<DispatchAnswer>({ kind: 'none' }), // answered at once → again at 68 s
        () => timer(1_000, ts).pipe(map(() => dispatch())), // dispatch at 69 s → again at once
      ];
      const inputs: unknown[] = [];
      longpoll({ cp, manifests: new FakeManifests(), host: new FakeHost(), machineId: 'web-01' }, ctx).subscribe((i) => inputs.push(i));
      flush();
      expect(cp.dispatchCalls.slice(0, 5)).toEqual([0, 60_000, 67_000, 68_000, 69_000]);
      expect(inputs).toEqual([
        {
          kind: 'VerifiedDispatch',
          rolloutId: 'stable@r1',
          event: { kind: 'LocalActivate', currentClosureAtDispatch: 'prior-closure', targetClosure: 'target', receivedAt: fromEpochMillis(1_000), soakDueAt: fromEpochMillis(300_000), seq: 0 },
          intent: { targetClosure: 'target', previousClosure: 'prior-closure', signedAt: fromEpochMillis(0) },
        },
      ]);
    });
  });

  it('abandons a request after 65 s and retries 5 s later', () => {
    marbles((ts, { hot, flush }) => {
      const ctx = context(ts, hot('100s a'));
      const cp = new FakeControlPlane(ts);
      cp.dispatchScript = [() => NEVER];
      longpoll({ cp, manifests: new FakeManifests(), host: new FakeHost(), machineId: 'web-01' }, ctx).subscribe();
      flush();
      expect(cp.dispatchCalls.slice(0, 2)).toEqual([0, 70_000]);
      expect(ctx.logger.messages('warn')).toContain('longpoll failed; retrying');
    });
  });

  it('refuses a dispatch for another host or one its manifest does not bind, then backs off 5 s', () => {
    marbles((ts, { hot, flush }) => {
      const ctx = context(ts, hot('20s a'));
      const cp = new FakeControlPlane(ts);
      cp.dispatchScript = [() => of({ ...dispatch(), dispatch: { ...(dispatch() as { dispatch: object }).dispatch, hostname: 'db-01' } } as DispatchAnswer), () => of(dispatch())];
      const inputs: unknown[] = [];
      longpoll({ cp, manifests: new FakeManifests(undefined, true), host: new FakeHost(), machineId: 'web-01' }, ctx).subscribe((i) => inputs.push(i));
      flush();
      expect(cp.dispatchCalls.slice(0, 3)).toEqual([0, 5_000, 10_000]);
      expect(inputs).toEqual([]);
    });
  });

  it('aborts the request in flight on shutdown', () => {
    marbles((ts, { cold, hot, expectObservable, expectSubscriptions }) => {
      const request = cold<DispatchAnswer>('-');
      const cp = new FakeControlPlane(ts);
      cp.dispatchScript = [() => request];
      expectObservable(longpoll({ cp, manifests: new FakeManifests(), host: new FakeHost(), machineId: 'web-01' }, context(ts, hot('30s a')))).toBe('30s |');
      expectSubscriptions(request.subscriptions).toBe('^ 29999ms !');
    });
  });
});

describe('heartbeat', () => {
  it('beats at start and every 60 s; an error waits 5 s and the ticks meanwhile are skipped', () => {
    marbles((ts, { hot, flush }) => {
      const cp = new FakeControlPlane(ts);
      let n = 0;
      cp.heartbeatAnswer = () => (++n === 2 ? throwError(() => new Error('503')) : of({ bootstrapRollouts: [] }));
      heartbeat({ cp, host: new FakeHost('current'), machineId: 'web-01', kick: () => {} }, context(ts, hot('200s a'))).subscribe();
      flush();
      expect(cp.heartbeats.map((h) => h.at)).toEqual([0, 60_000, 120_000, 180_000]);
      expect(cp.heartbeats[0]?.arg).toEqual({ hostname: 'web-01', currentClosure: 'current', at: fromEpochMillis(0) });
    });
  });

  it('skips a tick when the previous beat is still in its 10 s timeout + 5 s back-off', () => {
    marbles((ts, { hot, flush }) => {
      const cp = new FakeControlPlane(ts);
      cp.heartbeatAnswer = () => NEVER;
      heartbeat({ cp, host: new FakeHost(), machineId: 'web-01', kick: () => {} }, context(ts, hot('100s a')), 12_000).subscribe();
      flush();
      // 0: times out at 10 s, waits to 15 s; the 12 s tick is skipped; next at 24 s.
      expect(cp.heartbeats.map((h) => h.at)).toEqual([0, 24_000, 48_000, 72_000, 96_000]);
    });
  });

  it('turns an answer\'s snapshots into one BootstrapHosts input and kicks the drain on Replay-From', () => {
    marbles((ts, { hot, flush }) => {
      const cp = new FakeControlPlane(ts);
      const snapshot = { rolloutId: 'stable@r1', hostname: 'web-01', channel: 'stable', state: 'Soaking' as const, targetClosure: 't', dispatchedAt: fromEpochMillis(0), lastEventSeq: 4 };
      cp.heartbeatAnswer = () => of({ bootstrapRollouts: [snapshot, { ...snapshot, rolloutId: 'stable@r2' }], replayFrom: 3 });
      let kicks = 0;
      const inputs: unknown[] = [];
      heartbeat({ cp, host: new FakeHost(), machineId: 'web-01', kick: () => (kicks += 1) }, context(ts, hot('1s a'))).subscribe((i) => inputs.push(i));
      flush();
      expect(inputs).toEqual([{ kind: 'BootstrapHosts', snapshots: [snapshot, { ...snapshot, rolloutId: 'stable@r2' }] }]);
      expect(kicks).toBe(1);
    });
  });
});

describe('manifest poll', () => {
  it('refreshes at start and every 30 s', () => {
    marbles((ts, { hot, expectObservable }) => {
      const manifests = new FakeManifests();
      const m = { kind: 'ManifestSetUpdated', manifests: manifests.set };
      expectObservable(manifestPoll(manifests, context(ts, hot('65s a')))).toBe('a 29999ms a 29999ms a 4999ms |', { a: m });
    });
  });

  it('a refresh still running at shutdown is abandoned: the stop does not wait on it', () => {
    marbles((ts, { cold, hot, expectObservable, expectSubscriptions }) => {
      const manifests = new FakeManifests();
      const hanging = cold<ManifestSet>('-');
      manifests.refresh = () => hanging;
      expectObservable(manifestPoll(manifests, context(ts, hot('5s a')))).toBe('5s |');
      expectSubscriptions(hanging.subscriptions).toBe('^ 4999ms !');
    });
  });

  it('a failed refresh emits nothing and is logged; a freshness refusal also names the host clock', () => {
    marbles((ts, { hot, flush }) => {
      const manifests = new FakeManifests();
      const refused = (verdict: 'FutureDated' | 'Stale' | 'BadSignature') =>
        new ManifestPortError(`fleet.resolved: ${verdict}`, 'VerifyFailed', { verdict, clockHint: freshnessClockHint(verdict) });
      const errors = [refused('FutureDated'), refused('Stale'), refused('BadSignature')];
      manifests.refresh = () => throwError(() => errors.shift() ?? new Error('unexpected'));
      const ctx = context(ts, hot('61s a'));
      const inputs: unknown[] = [];
      manifestPoll(manifests, ctx).subscribe((i) => inputs.push(i));
      flush();
      expect(inputs).toEqual([]);
      const warned = ctx.logger.lines.filter((l) => l.message === 'manifest refresh failed; keeping the previous set').map((l) => l.fields?.['hint']);
      expect(warned).toEqual([expect.stringMatching(/clock is behind/), expect.stringMatching(/clock is ahead/), undefined]);
    });
  });
});

describe('outbound drain', () => {
  /** A CP and a queue; `passes` gets the time of each pass (each reads the queue once). */
  const drainPorts = (ts: TestScheduler) => {
    const cp = new FakeControlPlane(ts);
    const queue = new MemoryQueue();
    const passes: number[] = [];
    const origPending = queue.pending.bind(queue);
    queue.pending = (limit) => {
      passes.push(ts.now());
      return origPending(limit);
    };
    return { cp, queue, passes };
  };

  it('drains at start and every 15 s, and on kicks — a burst of kicks during a pass is one more pass', () => {
    marbles((ts, { hot, flush }) => {
      const { cp, queue, passes } = drainPorts(ts);
      cp.postAnswer = () => timer(1_000, ts).pipe(map(() => ({ kind: 'acked' as const })));
      const kick$ = hot('20s a 9ms b 9ms c', { a: 1, b: 1, c: 1 });
      const enqueue = () => queue.enqueueNow({ rolloutId: 'r', seq: 1, kind: 'DispatchAck', durable: true, envelope: { event: { kind: 'DispatchAck', seq: 1 } } });
      ts.schedule(enqueue, 19_999);
      outboundDrain({ cp, queue, kick$ }, context(ts, hot('40s a'))).subscribe();
      flush();
      // 0 and 15 s: ticks; 20 s: kick (one POST, 1 s); kicks at 20.01 s and 20.02 s collapse into one
      // pass right after (21 s); 30 s: tick; 40 s: shutdown's final pass.
      expect(passes).toEqual([0, 15_000, 20_000, 21_000, 30_000, 40_000]);
      expect(cp.posted.map((p) => p.at)).toEqual([20_000]);
    });
  });

  it('kicks before their pass starts share it; after a retry the next pass waits for a kick or the period, as upstream’s coalescing watch', () => {
    marbles((ts, { hot, flush }) => {
      const { cp, queue, passes } = drainPorts(ts);
      let answers = 0;
      cp.postAnswer = () => of(answers++ === 0 ? { kind: 'retry' as const, reason: 'HTTP 503' } : { kind: 'acked' as const });
      const enqueue = () => queue.enqueueNow({ rolloutId: 'r', seq: 1, kind: 'DispatchAck', durable: true, envelope: { event: { kind: 'DispatchAck', seq: 1 } } });
      ts.schedule(enqueue, 19_999);
      // Three kicks in the 20 s frame (one turn each, say): one pass; its POST is told to retry.
      const kick$ = hot('20s (abc) 4995ms d', { a: 1, b: 1, c: 1, d: 1 });
      outboundDrain({ cp, queue, kick$ }, context(ts, hot('40s a'))).subscribe();
      flush();
      // 20 s: the three kicks' one pass (503); 25 s: the next kick's pass delivers; 30 s: tick; 40 s: final.
      expect(passes).toEqual([0, 15_000, 20_000, 25_000, 30_000, 40_000]);
      expect(cp.posted.map((p) => p.at)).toEqual([20_000, 25_000]);
      expect(queue.rows).toEqual([]);
    });
  });

  it('removes a pass’s delivered events in one ack; a pass cut off mid-way still removes the ones the CP took', () => {
    /** Three events queued; `acks` gets the ids of each ack call. */
    const threeQueuedAckSpied = (ts: TestScheduler) => {
      const { cp, queue } = drainPorts(ts);
      for (const r of ['a', 'b', 'c']) queue.enqueueNow({ rolloutId: r, seq: 1, kind: 'DispatchAck', durable: true, envelope: { rolloutId: r, event: { kind: 'DispatchAck', seq: 1 } } });
      const acks: number[][] = [];
      const ack = queue.ack.bind(queue);
      queue.ack = (ids) => {
        acks.push([...ids]);
        return ack(ids);
      };
      return { cp, queue, acks };
    };
    marbles((ts, { hot, flush }) => {
      const { cp, queue, acks } = threeQueuedAckSpied(ts);
      // "c" never answers: the pass waits on it until the worker is unsubscribed at 5 s.
      cp.postAnswer = (body) => ((JSON.parse(body) as { rolloutId: string }).rolloutId === 'c' ? NEVER : of({ kind: 'acked' as const }));
      const sub = outboundDrain({ cp, queue, kick$: NEVER }, context(ts, hot('-'))).subscribe();
      ts.schedule(() => sub.unsubscribe(), 5_000);
      flush();
      expect(acks).toEqual([[1, 2]]);
      expect(queue.rows.map((r) => r.rolloutId)).toEqual(['c']);
    });
    marbles((ts, { hot, flush }) => {
      const { cp, queue, acks } = threeQueuedAckSpied(ts);
      let delivered = 0;
      outboundDrain({ cp, queue, kick$: NEVER, onDelivered: () => (delivered += 1) }, context(ts, hot('1s a'))).subscribe();
      flush();
      expect([acks, delivered, queue.rows]).toEqual([[[1, 2, 3]], 3, []]);
    });
  });

  it('drops a kick whose pass had not started when the agent stopped; the last pass waits for the producers, then it completes', () => {
    marbles((ts, { hot, flush }) => {
      const { cp, queue, passes } = drainPorts(ts);
      // The kick comes first in the 40 s frame, the stop right after it, before the kick's own task.
      const kick$ = hot('40s a', { a: 1 });
      const ctx = context(ts, hot('40s a'));
      let completedAt: number | undefined;
      outboundDrain({ cp, queue, kick$, finalPass$: hot('50s a') }, ctx).subscribe({ complete: () => (completedAt = ts.now()) });
      flush();
      expect(passes).toEqual([0, 15_000, 30_000, 50_000]);
      expect(completedAt).toBe(50_000);
    });
  });

  it('stops a pass at the first retry, dead-letters a poison event and goes on', () => {
    marbles((ts, { hot, flush }) => {
      const cp = new FakeControlPlane(ts);
      const queue = new MemoryQueue();
      for (const r of ['a', 'b', 'c', 'd'])
        queue.enqueueNow({ rolloutId: r, seq: 1, kind: 'DispatchAck', durable: true, envelope: { rolloutId: r, event: { kind: 'DispatchAck', seq: 1 } } });
      cp.postAnswer = (body) => {
        const r = (JSON.parse(body) as { rolloutId: string }).rolloutId;
        return of(r === 'b' ? { kind: 'poison' as const, status: 422, reason: 'HTTP 422: bad' } : r === 'd' ? { kind: 'retry' as const, reason: '503' } : { kind: 'acked' as const });
      };
      outboundDrain({ cp, queue, kick$: NEVER }, context(ts, hot('1s a'))).subscribe();
      flush();
      expect(queue.dead.map((d) => d.rolloutId)).toEqual(['b']);
      expect(queue.rows.map((r) => r.rolloutId)).toEqual(['d']);
    });
  });
});

const switchTo = (rolloutId: string, closure: string): ActivationIntent => ({ rolloutId, closure, rollback: false, signed: { targetClosure: closure, signedAt: fromEpochMillis(0) } });

describe('activation worker', () => {
  it('runs intents strictly one at a time, each reporting Started then its outcome', () => {
    marbles((ts, { hot, flush }) => {
      const port = new FakeActivation(ts);
      const intents = new BoundedQueue<ActivationIntent>(4, NEVER);
      const out: [number, string][] = [];
      activationWorker({ port, manifests: new FakeManifests(), machineId: 'web-01' }, intents, context(ts, hot('1m a'))).subscribe((i) =>
        out.push([ts.now(), i.kind === 'HostEvent' ? `${i.rolloutId}:${i.event.kind}` : i.kind]),
      );
      intents.offer(switchTo('a@1', 'x'));
      intents.offer(switchTo('b@1', 'y'));
      intents.offer({ rolloutId: 'a@1', closure: 'prior', rollback: true, failedTarget: 'x', proof: 'own-record' });
      flush();
      expect(port.calls.map((c) => c.at)).toEqual([0, 10_000, 20_000]);
      expect(out).toEqual([
        [0, 'a@1:LocalActivationStarted'],
        [10_000, 'a@1:LocalActivationCompleted'],
        [10_000, 'b@1:LocalActivationStarted'],
        [20_000, 'b@1:LocalActivationCompleted'],
        [30_000, 'a@1:LocalRollbackCompleted'],
      ]);
    });
  });

  it('does not hold shutdown for a switch running in its own unit: no outcome, no event, resumed after the restart', () => {
    marbles((ts, { hot, flush }) => {
      // A port waiting on a detached switch: it only ends when told to leave it running.
      const waiting: ActivationPort = {
        activate: (_c, _v, o) => NEVER.pipe(takeUntil(o?.leaveRunningOn ?? NEVER)),
        rollback: (_c, _p, _f, o) => NEVER.pipe(takeUntil(o?.leaveRunningOn ?? NEVER)),
      };
      const ctx = context(ts, hot('1m a'));
      const intents = new BoundedQueue<ActivationIntent>(4, ctx.shutdown$);
      const out: string[] = [];
      let completed = -1;
      activationWorker({ port: waiting, manifests: new FakeManifests(), machineId: 'web-01' }, intents, ctx).subscribe({
        next: (i) => out.push(i.kind === 'HostEvent' ? i.event.kind : i.kind),
        complete: () => (completed = ts.now()),
      });
      intents.offer(switchTo('a@1', 'x'));
      flush();
      expect(out).toEqual(['LocalActivationStarted']);
      expect(completed).toBe(60_000);
      expect(ctx.logger.lines.map((l) => l.message)).toContain('stopping: the switch goes on in its own unit; it is resumed after the restart');
    });
  });

  it('after the stop, a switch still queued is not started (it is resumed after the restart); a rollback still runs', () => {
    marbles((ts, { hot, flush }) => {
      const port = new FakeActivation(ts);
      const ctx = context(ts, hot('5s a'));
      const intents = new BoundedQueue<ActivationIntent>(4, ctx.shutdown$);
      activationWorker({ port, manifests: new FakeManifests(), machineId: 'web-01' }, intents, ctx).subscribe();
      intents.offer(switchTo('a@1', 'x'));
      intents.offer(switchTo('b@1', 'y'));
      intents.offer({ rolloutId: 'c@1', closure: 'prior', rollback: true, failedTarget: 'z', proof: 'own-record' });
      flush();
      expect(port.calls.map((c) => [c.at, c.arg.rollback])).toEqual([
        [0, false],
        [10_000, true],
      ]);
      expect(ctx.logger.lines.find((l) => l.message.startsWith('stopping: a queued switch'))?.fields).toMatchObject({ rolloutId: 'b@1', target: 'y' });
    });
  });

  it('a resumed switch whose start was reported before the restart reports only its outcome', () => {
    marbles((ts, { hot, flush }) => {
      const port = new FakeActivation(ts);
      const intents = new BoundedQueue<ActivationIntent>(4, NEVER);
      const out: string[] = [];
      activationWorker({ port, manifests: new FakeManifests(), machineId: 'web-01' }, intents, context(ts, hot('1m a'))).subscribe((i) => out.push(i.kind === 'HostEvent' ? i.event.kind : i.kind));
      intents.offer({ rolloutId: 'a@1', closure: 'x', rollback: false, signed: { targetClosure: 'x', signedAt: fromEpochMillis(0) }, resumed: true, started: true });
      flush();
      expect(out).toEqual(['LocalActivationCompleted']);
    });
  });

  it('reports a port that ends without an outcome (and without shutdown) as a failed activation', () => {
    marbles((ts, { hot, flush }) => {
      const empty: ActivationPort = { activate: () => EMPTY, rollback: () => EMPTY };
      const intents = new BoundedQueue<ActivationIntent>(4, NEVER);
      const out: string[] = [];
      activationWorker({ port: empty, manifests: new FakeManifests(), machineId: 'web-01' }, intents, context(ts, hot('1m a'))).subscribe((i) =>
        out.push(i.kind === 'HostEvent' && i.event.kind === 'LocalActivationFailed' ? `failed:${i.event.stderrTail}` : i.kind === 'HostEvent' ? i.event.kind : i.kind),
      );
      intents.offer(switchTo('a@1', 'x'));
      flush();
      expect(out).toEqual(['LocalActivationStarted', 'failed:activation pipeline error: pipeline ended without an outcome']);
    });
  });

  it('counts the running intent against the capacity', () => {
    const intents = new BoundedQueue<ActivationIntent>(2, NEVER);
    intents.consume(() => NEVER).subscribe();
    expect([1, 2, 3].map((n) => intents.offer(switchTo(`r${n}`, 'c')))).toEqual([true, true, false]);
  });

  it('verifies the signed manifest again when it fires: a closure it no longer names is refused and nothing runs', () => {
    marbles((ts, { hot, flush }) => {
      const port = new FakeActivation(ts);
      const manifests = new FakeManifests();
      manifests.signed = { 'a@1': 'x' };
      const intents = new BoundedQueue<ActivationIntent>(4, NEVER);
      const out: string[] = [];
      activationWorker({ port, manifests, machineId: 'web-01' }, intents, context(ts, hot('1m a'))).subscribe((i) =>
        out.push(i.kind === 'HostEvent' && i.event.kind === 'LocalActivationFailed' ? `failed:${i.event.stderrTail}` : `${i.kind}:${i.kind === 'HostEvent' ? i.event.kind : ''}`),
      );
      intents.offer(switchTo('a@1', 'evil'));
      intents.offer(switchTo('a@1', 'x'));
      flush();
      expect(port.calls.map((c) => c.arg.closure)).toEqual(['x']);
      expect(out[0]).toMatch(/^failed:refused: .*evil/);
      expect(out.slice(1)).toEqual(['HostEvent:LocalActivationStarted', 'HostEvent:LocalActivationCompleted']);
      expect(manifests.dispatchChecks).toEqual([{ rolloutId: 'a@1', closure: 'evil' }, { rolloutId: 'a@1', closure: 'x' }]);
    });
  });

  it('a rollback whose target only the CP named runs only if the rollout verifies for this host; an own-record rollback needs no manifest', () => {
    marbles((ts, { hot, flush }) => {
      const port = new FakeActivation(ts);
      const manifests = new FakeManifests();
      manifests.signed = { 'a@1': 'x' };
      const intents = new BoundedQueue<ActivationIntent>(4, NEVER);
      const failed: string[] = [];
      activationWorker({ port, manifests, machineId: 'web-01' }, intents, context(ts, hot('1m a'))).subscribe((i) => {
        if (i.kind === 'HostEvent' && i.event.kind === 'LocalActivationFailed') failed.push(i.rolloutId);
      });
      intents.offer({ rolloutId: 'b@1', closure: 'old', rollback: true, failedTarget: 'y', proof: 'profile-history' });
      intents.offer({ rolloutId: 'a@1', closure: 'old', rollback: true, failedTarget: 'x', proof: 'profile-history' });
      intents.offer({ rolloutId: 'c@1', closure: 'prior', rollback: true, failedTarget: 'z', proof: 'own-record' });
      flush();
      expect(failed).toEqual(['b@1']);
      expect(port.calls.map((c) => c.arg.closure)).toEqual(['old', 'prior']);
      expect(manifests.dispatchChecks.map((c) => c.rolloutId)).toEqual(['b@1', 'a@1']);
    });
  });
});

describe('probe worker', () => {
  it('with no declarations file (the port declares nothing) sends no topology and runs nothing, as upstream; `{}` declares an empty topology', () => {
    marbles((ts, { hot, flush }) => {
      const missing = Object.assign(new FakeProbes(ts), { declarations: () => EMPTY });
      const empty = new FakeProbes(ts, []);
      const seen = (port: FakeProbes): string[] => {
        const out: string[] = [];
        probeWorker(port, hot<ProbeCommand>('a', { a: { kind: 'reset', rolloutId: 'r' } }), context(ts, hot('30s a'))).subscribe((i) => i.kind === 'HostEvent' && out.push(i.event.kind));
        return out;
      };
      const [none, declared] = [seen(missing), seen(empty)];
      flush();
      expect([none, declared, missing.runs]).toEqual([[], ['LocalProbeTopologyDeclared'], []]);
    });
  });

  it('declares topology, runs each probe at once and every max(interval, 5) s, with first/failure-edge events', () => {
    marbles((ts, { hot, flush }) => {
      const probes = new FakeProbes(ts, [probe('web', 'enforce', 2), probe('ev', 'observe', 10), probe('off', 'disabled')]);
      probes.result = (name, now) => ({ status: name === 'web' && now >= 5_000 && now < 15_000 ? 'fail' : 'pass' });
      const commands = hot<ProbeCommand>('a', { a: { kind: 'reset', rolloutId: 'r' } });
      const out: string[] = [];
      probeWorker(probes, commands, context(ts, hot('21s a'))).subscribe((i) => i.kind === 'HostEvent' && out.push(`${ts.now() / 1000}:${i.event.kind}:${'probeName' in i.event ? i.event.probeName : ''}`));
      flush();
      expect(out).toEqual([
        '0:LocalProbeTopologyDeclared:',
        '0:LocalProbeObservedFirst:web',
        '0:LocalProbeResult:web',
        '0:LocalProbeObservedFirst:ev',
        '0:LocalProbeResult:ev',
        '5:LocalProbeFailureFirst:web',
        '5:LocalProbeResult:web',
        '10:LocalProbeResult:ev',
        '10:LocalProbeResult:web',
        '15:LocalProbeResult:web',
        '20:LocalProbeResult:ev',
        '20:LocalProbeResult:web',
      ]);
    });
  });

  it('a run still going when its next tick comes skips that tick, the other probes of its period run on; runOnce probes run once', () => {
    marbles((ts, { hot, flush }) => {
      const probes = new FakeProbes(ts, [probe('slow'), probe('fast'), { ...probe('boot'), runOnce: true }]);
      const run = probes.run.bind(probes);
      // "slow" takes 7 s: it runs at 0, skips 5, runs at 10 (done at 17), skips 15, runs at 20.
      probes.run = (p) => (p.name === 'slow' ? timer(7_000, ts).pipe(mergeMap(() => run(p))) : run(p));
      const out: string[] = [];
      probeWorker(probes, hot<ProbeCommand>('a', { a: { kind: 'reset', rolloutId: 'r' } }), context(ts, hot('21s a'))).subscribe(
        (i) => i.kind === 'HostEvent' && i.event.kind === 'LocalProbeResult' && out.push(`${ts.now() / 1000}:${i.event.probeName}`),
      );
      flush();
      expect(out).toEqual(['0:boot', '0:fast', '5:fast', '7:slow', '10:fast', '15:fast', '17:slow', '20:fast']);
      expect(probes.runs.map((r) => `${r.at / 1000}:${r.arg}`)).toEqual(['0:boot', '0:fast', '5:fast', '7:slow', '10:fast', '15:fast', '17:slow', '20:fast']);
    });
  });

  it('a reset replaces the running set; a stop for another rollout is ignored; a stop for the current one ends it', () => {
    marbles((ts, { hot, flush }) => {
      const probes = new FakeProbes(ts, [probe('web')]);
      const commands = hot<ProbeCommand>('a 9999ms b 9999ms c 9999ms d', {
        a: { kind: 'reset', rolloutId: 'one' },
        b: { kind: 'reset', rolloutId: 'two' },
        c: { kind: 'stop', rolloutId: 'one' },
        d: { kind: 'stop', rolloutId: 'two' },
      });
      probeWorker(probes, commands, context(ts, hot('60s a'))).subscribe();
      flush();
      expect(probes.runs.map((r) => r.at / 1000)).toEqual([0, 5, 10, 15, 20, 25]);
    });
  });
});

describe('probe test mode', () => {
  it('a reset declares nothing and runs nothing, as upstream', () => {
    marbles((ts, { hot, flush }) => {
      const probes = new FakeProbes(ts, [probe('web')]);
      const port = Object.assign(Object.create(probes) as FakeProbes, { testMode: () => true });
      const out: unknown[] = [];
      probeWorker(port, hot<ProbeCommand>('a', { a: { kind: 'reset', rolloutId: 'r' } }), context(ts, hot('30s a'))).subscribe((i) => out.push(i));
      flush();
      expect([out, probes.runs]).toEqual([[], []]);
    });
  });
});

describe('cert renewal', () => {
  it('checks at start and every 60 s, renews below the threshold', () => {
    marbles((ts, { hot, flush }) => {
      const cert = new FakeCert({ notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(300_000) });
      certRenewal(cert, 0.5, context(ts, hot('200s a'))).subscribe();
      flush();
      // remaining at 0, 60, 120 s: 1, 0.8, 0.6; at 180 s: 0.4 → renew.
      expect(cert.renewals).toBe(1);
    });
  });

  it('a failed renewal waits 30 s, but shutdown ends that wait at once', () => {
    marbles((ts, { hot, expectObservable }) => {
      const cert = new FakeCert({ notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(1_000) });
      cert.renew = () => throwError(() => new Error('CP refused'));
      expectObservable(certRenewal(cert, 0.5, context(ts, hot('5s a')))).toBe('5s |');
    });
  });

  it('after consecutive failures waits 30 s, 60 s, 120 s … up to 30 min (then the next 60 s tick); a success resets it', () => {
    marbles((ts, { hot, flush }) => {
      const cert = new FakeCert({ notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(1_000) });
      const attempts: number[] = [];
      const failUntil = 7_000_000;
      cert.renew = () => {
        attempts.push(ts.now() / 1000);
        return ts.now() < failUntil || ts.now() === 7_500_000 ? throwError(() => new Error('CP refused')) : of(cert.current);
      };
      const ctx = context(ts, hot('9000s a'));
      certRenewal(cert, 0.5, ctx).subscribe();
      flush();
      // Expired from the 60 s check on. Each attempt is the first tick at or after the wait's end.
      expect(attempts.slice(0, 10)).toEqual([60, 120, 180, 300, 540, 1020, 1980, 3780, 5580, 7380]);
      // Succeeded at 7380 s: every 60 s again; one failure at 7500 s waits 30 s, not 30 min.
      expect(attempts.slice(10, 14)).toEqual([7440, 7500, 7560, 7620]);
      const waits = ctx.logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields?.['retryInMs']);
      expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000, 1_800_000, 30_000]);
    });
  });

  it('is off with one line at start: INFO without a threshold, ERROR for one outside (0, 1), and the agent runs on', () => {
    marbles((ts, { hot, expectObservable }) => {
      for (const [threshold, level] of [[undefined, 'info'], [0, 'error'], [1, 'error'], [1.5, 'error'], [-0.2, 'error']] as const) {
        const cert = new FakeCert({ notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(1_000) });
        const ctx = context(ts, hot('500s a'));
        expectObservable(certRenewal(cert, threshold, ctx)).toBe('|');
        expect([cert.renewals, ctx.logger.lines.map((l) => l.level)]).toEqual([0, [level]]);
      }
    });
  });
});

describe('heartbeat back-off', () => {
  it('shutdown ends the 5 s error back-off at once', () => {
    marbles((ts, { hot, expectObservable }) => {
      const cp = new FakeControlPlane(ts);
      cp.heartbeatAnswer = () => throwError(() => ({ kind: 'transport', message: 'refused' }));
      expectObservable(heartbeat({ cp, host: new FakeHost(), machineId: 'web-01', kick: () => {} }, context(ts, hot('2s a')))).toBe('2s |');
    });
  });
});

describe('isolation', () => {
  it('restarts a source that errors after 1 s, 2 s, 4 s … while the others keep running', () => {
    marbles((ts, { hot, expectObservable }) => {
      const ctx = context(ts, hot('20s a'));
      let attempts = 0;
      const broken = new Observable<string>((s) => {
        attempts += 1;
        s.error(new Error(`boom ${attempts}`));
      }).pipe(isolate('broken', ctx), takeUntil(ctx.shutdown$));
      broken.subscribe();
      expectObservable(advanceTicker(ctx).pipe(map(() => 't'))).toBe('5s t 4999ms t 4999ms t 4999ms |');
      ts.schedule(() => expect(attempts).toBe(5), 15_500); // at 0, 1, 3, 7, 15 s
      ts.schedule(() => expect(ctx.logger.messages('error')).toEqual(Array(5).fill('broken failed; restarting')), 15_500);
    });
  });
});

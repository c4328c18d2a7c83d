// One worker's failure never ends the graph; bounded queues say what they drop.
// Rollout states as marble diagrams: see graph.spec.ts for the letters.
import { lastValueFrom, map, of, Subject, toArray } from 'rxjs';
import { BoundedQueue } from '../../src/sources/channels';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { ACTIVATION_INTENT_CAPACITY, mailbox, REDUCER_INPUT_CAPACITY } from '../../src/streams';
import { postableMailbox } from '../../src/streams/mailbox';
import { manifestSet, probe } from '../fakes/ports';
import { verifiedDispatch } from '../support/fixtures';
import { harness, STATES } from '../support/graph-harness';
import { marbles } from '../support/marbles';

describe('isolation inside the graph', () => {
  it('a port that throws synchronously (heartbeat) does not stop the rollout', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { probes: [probe('web')] });
      h.cp.heartbeat = () => {
        throw new Error('heartbeat port bug');
      };
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(400_000);
      expectObservable(h.rolloutState$()).toBe('n 999ms a 9999ms s 288999ms c 99999ms |', STATES);
      h.at(() => {
        expect(h.logger.messages('warn')).toEqual(expect.arrayContaining(['heartbeat failed']));
        expect(h.logger.messages('error')).toEqual([]);
      }, 399_000);
    });
  });

  it('an unusable health-checks file fails closed: the soak fails and the CP is told why', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { manifests: manifestSet('rollback-and-halt') });
      h.probes.declarations = () => {
        throw new Error('$.web.kind: unknown kind "htp"');
      };
      h.cp.dispatchScript = [h.dispatchAfter(1_000, 300_000)];
      h.stopAt(300_000);
      // Failing from its first run at 11 s, Failed on the first tick 120 s later, rolled back in 10 s.
      expectObservable(h.rolloutState$()).toBe('n 999ms a 9999ms s 123999ms f 9999ms r 154999ms |', STATES);
      h.at(() => {
        const result = h.effects.find((e) => e.effect.kind === 'LocalEmitEvent' && e.effect.payload.kind === 'ProbeResult');
        expect(result?.effect).toMatchObject({ payload: { probeName: 'health-checks', status: 'fail', failureReason: 'health checks unusable: $.web.kind: unknown kind "htp"' } });
        // The operator reads which probe failed, why, and what happens next.
        expect(h.logger.lines.find((l) => l.message === 'enforce probes failed for longer than the threshold; the soak fails')).toMatchObject({
          level: 'error',
          fields: { rolloutId: 'stable@r1', failingProbes: { 'health-checks': 'health checks unusable: $.web.kind: unknown kind "htp"' }, policy: 'rollback-and-halt' },
        });
      }, 299_000);
    });
  });

  it('a step() rejection is logged and changes nothing', () => {
    marbles((ts) => {
      const h = harness(ts);
      h.stopAt(10_000);
      h.at(() => h.graph.post({ kind: 'HostEvent', rolloutId: 'stable@zzz', event: { kind: 'LocalConvergedReached', convergedAt: fromEpochMillis(1_000), currentClosure: 'c', seq: 0 } }), 1_000);
      h.at(() => {
        expect(h.graph.state().hosts).toEqual({});
        expect(h.logger.messages('warn')).toContain('HostEvent for unknown rollout; dropped');
      }, 9_000);
    });
  });
});

describe('bounded queues', () => {
  it('the mailbox delivers re-entrant posts in order after the current one, and reports overflow', () => {
    const input$ = new Subject<number>();
    const dropped: number[] = [];
    const seen: number[] = [];
    input$.pipe(mailbox(2, (d) => dropped.push(d))).subscribe((n) => {
      seen.push(n);
      if (n === 1) [10, 11, 12].forEach((m) => input$.next(m)); // posted during turn 1
    });
    input$.next(1);
    input$.next(2);
    expect(seen).toEqual([1, 10, 11, 2]);
    expect(dropped).toEqual([12]);
  });

  it('a posted item joins the same queue as the source’s; posts before subscribe or after completion are dropped', () => {
    const input$ = new Subject<number>();
    const box = postableMailbox<number>(4, () => undefined);
    box.post(0); // nobody listens yet
    const seen: string[] = [];
    let completed = false;
    input$.pipe(box.operator).subscribe({
      next: (n) => {
        seen.push(String(n));
        if (n === 1) {
          box.post(100); // feedback during turn 1
          input$.next(2);
        }
      },
      complete: () => (completed = true),
    });
    input$.next(1);
    box.post(3);
    input$.complete();
    box.post(4);
    expect([seen, completed]).toEqual([['1', '100', '2', '3'], true]);
  });

  it('the mailbox and the bounded queue carry undefined like any other item', async () => {
    const input$ = new Subject<number | undefined>();
    const seen: (number | undefined)[] = [];
    input$.pipe(mailbox(4, () => undefined)).subscribe((v) => seen.push(v));
    input$.next(1);
    input$.next(undefined);
    input$.next(2);
    expect(seen).toEqual([1, undefined, 2]);

    const q = new BoundedQueue<number | undefined>(4, of('stopped'));
    q.offer(undefined);
    q.offer(3);
    expect(await lastValueFrom(q.consume((v) => of(v)).pipe(toArray()))).toEqual([undefined, 3]);
  });

  it('the reducer mailbox capacity is upstream’s 64, the activation queue’s 4', () => {
    expect([REDUCER_INPUT_CAPACITY, ACTIVATION_INTENT_CAPACITY]).toEqual([64, 4]);
  });

  it('a switch intent that finds the activation queue full fails its activation visibly', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts, { manifests: { ...manifestSet(), fleet: { ...manifestSet().fleet, channels: Object.fromEntries('abcdef'.split('').map((c) => [c, { rolloutPolicy: 'p' }])) } } });
      h.activation.durationMs = 100_000;
      h.stopAt(200_000);
      // Six rollouts dispatched at once; one runs, three wait, the last two are refused.
      h.at(() => {
        for (const c of 'abcdef') h.graph.post(verifiedDispatch(`${c}@1`, `t-${c}`, 'prior', fromEpochMillis(1_000), fromEpochMillis(3_600_000)));
      }, 1_000);
      // Watched for 2 s: the refused ones fail in the turn after their dispatch; a queued one waits, Activating.
      const firstTwoSeconds = '^ 1999ms !';
      for (const refused of ['e@1', 'f@1']) expectObservable(h.rolloutState$(refused), firstTwoSeconds).toBe('n 999ms (af)', STATES);
      expectObservable(h.rolloutState$('d@1'), firstTwoSeconds).toBe('n 999ms a', STATES);
      h.at(() => {
        expect(h.logger.messages('error')).toEqual(expect.arrayContaining(['switch intent refused: activation queue full or stopped; failing the activation']));
      }, 2_000);
    });
  });
});

describe('inputs stream', () => {
  it('shows every input in the order the reducer took it', () => {
    marbles((ts, { expectObservable }) => {
      const h = harness(ts);
      h.stopAt(11_000);
      expectObservable(h.graph.inputs$.pipe(map((i) => i.kind))).toBe('m 4999ms t 4999ms t 999ms |', { m: 'ManifestSetUpdated', t: 'AgentAdvanceTick' });
    });
  });
});

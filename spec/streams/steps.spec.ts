// The drain's step runner: straight-line port calls, each answer typed on its Call.
import { asyncScheduler, EMPTY, NEVER, Observable, of, throwError, timer, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { call, runSteps, type Steps } from '../../src/sources/steps';

const run = (f: () => void) => new TestScheduler((a, b) => expect(a).toEqual(b)).run(f);

describe('runSteps', () => {
  it('resumes the body with each answer: the first value, undefined for none; an error is thrown at the yield', () => {
    const seen: unknown[] = [];
    function* body(): Steps {
      const a = call(of(1, 2));
      yield a;
      const none = call(EMPTY);
      yield none;
      seen.push(a.answer, none.answer);
      try {
        yield call(throwError(() => new Error('store down')));
      } catch (err) {
        seen.push((err as Error).message);
      }
    }
    let completed = false;
    runSteps(body).subscribe({ complete: () => (completed = true) });
    expect([seen, completed]).toEqual([[1, undefined, 'store down'], true]);
  });

  it('runs any number of synchronous calls in a loop, without growing the stack', () => {
    let n = 0;
    function* body(): Steps {
      for (let i = 0; i < 100_000; i++) {
        const c = call(of(i));
        yield c;
        n += c.answer === i ? 1 : 0;
      }
    }
    runSteps(body).subscribe();
    expect(n).toBe(100_000);
  });

  it('an asynchronous call resumes from its callback; a timeout fails it with a TimeoutError', () => {
    run(() => {
      const out: string[] = [];
      const clock = { ms: 10_000, scheduler: asyncScheduler };
      function* body(): Steps {
        const slow = call(timer(3_000).pipe(map(() => 'ok')), clock);
        yield slow;
        out.push(`${asyncScheduler.now()}:${slow.answer}`);
        try {
          yield call(NEVER, clock);
        } catch (err) {
          out.push(`${asyncScheduler.now()}:${(err as Error).name}`);
        }
      }
      runSteps(body).subscribe();
      asyncScheduler.schedule(() => expect(out).toEqual(['3000:ok', '13000:TimeoutError']), 60_000);
    });
  });

  it('unsubscribing cancels the call in flight; the body goes no further', () => {
    run(() => {
      let cancelled = false;
      let after = false;
      const held = new Observable<never>(() => () => (cancelled = true));
      function* body(): Steps {
        yield call(held, { ms: 10_000, scheduler: asyncScheduler });
        after = true;
      }
      const sub = runSteps(body).subscribe();
      asyncScheduler.schedule(() => sub.unsubscribe(), 1_000);
      asyncScheduler.schedule(() => expect([cancelled, after]).toEqual([true, false]), 60_000);
    });
  });
});

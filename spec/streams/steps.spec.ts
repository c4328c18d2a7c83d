// The drain's step runner: straight-line port calls, each answer typed on its Call.
import { EMPTY, NEVER, Observable, of, throwError, timer, map } from 'rxjs';
import { marbles } from '../support/marbles';
import { call, runSteps, type Steps } from '../../src/sources/steps';


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
    marbles((ts) => {
      const out: string[] = [];
      const clock = { ms: 10_000, scheduler: ts };
      function* body(): Steps {
        const slow = call(timer(3_000, ts).pipe(map(() => 'ok')), clock);
        yield slow;
        out.push(`${ts.now()}:${slow.answer}`);
        try {
          yield call(NEVER, clock);
        } catch (err) {
          out.push(`${ts.now()}:${(err as Error).name}`);
        }
      }
      runSteps(body).subscribe();
      ts.schedule(() => expect(out).toEqual(['3000:ok', '13000:TimeoutError']), 60_000);
    });
  });

  it('unsubscribing cancels the call in flight; the body goes no further', () => {
    marbles((ts) => {
      let cancelled = false;
      let after = false;
      const held = new Observable<never>(() => () => (cancelled = true));
      function* body(): Steps {
        yield call(held, { ms: 10_000, scheduler: ts });
        after = true;
      }
      const sub = runSteps(body).subscribe();
      ts.schedule(() => sub.unsubscribe(), 1_000);
      ts.schedule(() => expect([cancelled, after]).toEqual([true, false]), 60_000);
    });
  });
});

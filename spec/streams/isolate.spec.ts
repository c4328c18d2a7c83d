// isolate(): the restart rules rxjs's retry({ resetOnSuccess, delay }) gave,
// pinned because the operator is hand-written (src/sources/operators.ts).
import { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { SourceContext } from '../../src/sources/context';
import { isolate } from '../../src/sources/operators';
import { MemoryLogger } from '../fakes/ports';
import { marbles } from '../support/marbles';

function context(ts: TestScheduler, shutdown$: Observable<unknown>): SourceContext & { logger: MemoryLogger } {
  return { scheduler: ts, logger: new MemoryLogger(), shutdown$ };
}

/** Subscription n runs script[n] at the clock's time: 'v!' emits v then errors, '!' only errors. */
function scripted(ts: TestScheduler, script: readonly string[]): { readonly source: Observable<string>; readonly subscribedAt: number[] } {
  const subscribedAt: number[] = [];
  const source = new Observable<string>((s) => {
    const step = script[subscribedAt.length] ?? '';
    subscribedAt.push(ts.now());
    if (step.startsWith('v')) s.next('v');
    if (step.endsWith('!')) s.error(new Error('boom'));
  });
  return { source, subscribedAt };
}

describe('isolate', () => {
  it('a value resets the back-off; shutdown during a back-off completes the source instead of restarting it', () => {
    marbles((ts, { hot, expectObservable }) => {
      const ctx = context(ts, hot('8s a'));
      const { source, subscribedAt } = scripted(ts, ['!', '!', 'v!', '!', '!', '!']);
      // 0 fails, +1 s, 1 s fails, +2 s, 3 s emits and fails, +1 s (reset), 4 s fails, +2 s, 6 s fails, +4 s: shutdown at 8 s.
      expectObservable(source.pipe(isolate('src', ctx))).toBe('3s v 4999ms |');
      ts.schedule(() => {
        expect(subscribedAt).toEqual([0, 1_000, 3_000, 4_000, 6_000]);
        expect(ctx.logger.lines.map((l) => l.fields?.['attempt'])).toEqual([1, 2, 1, 2, 3]);
      }, 20_000);
    });
  });

  it('unsubscribing during a back-off cancels the restart', () => {
    marbles((ts, { hot }) => {
      const ctx = context(ts, hot('-'));
      let attempts = 0;
      const sub = new Observable<never>((s) => {
        attempts += 1;
        s.error(new Error('boom'));
      })
        .pipe(isolate('src', ctx))
        .subscribe();
      ts.schedule(() => sub.unsubscribe(), 500);
      ts.schedule(() => expect(attempts).toBe(1), 10_000);
    });
  });
});

// Post-switch verify (reference agent-runtime.md §11.6): read the basename of
// /run/current-system every interval until it is the expected closure, a
// third closure appears, or the budget is spent. All timing is on the given
// scheduler, so the 2 s / 300 s rule runs in virtual time in the specs.
import { catchError, defer, first, map, of, repeat, timer, type Observable, type SchedulerLike } from 'rxjs';
import { errorMessage } from '../../ports/error-text';

export type PollOutcome =
  | { readonly kind: 'Settled' }
  | { readonly kind: 'Timeout'; readonly lastObserved: string }
  | { readonly kind: 'FlippedToUnexpected'; readonly observed: string };

export interface VerifyPollOptions {
  readonly expected: string;
  /** The pre-switch basename; when given, any third basename ends the poll at once. */
  readonly previous?: string;
  /** One read of the current basename; an error is tolerated and recorded. */
  readonly read: () => Observable<string>;
  readonly intervalMs: number;
  readonly budgetMs: number;
  readonly scheduler: SchedulerLike;
}

type Step = PollOutcome | { readonly kind: 'Continue' };

export function verifyPoll(o: VerifyPollOptions): Observable<PollOutcome> {
  return defer(() => {
    const deadline = o.scheduler.now() + o.budgetMs;
    let lastObserved: string | undefined;
    const attempt = defer(o.read).pipe(
      first(),
      map((basename): Step => {
        if (basename === o.expected) return { kind: 'Settled' };
        if (o.previous !== undefined && basename !== o.previous) return { kind: 'FlippedToUnexpected', observed: basename };
        lastObserved = basename;
        return { kind: 'Continue' };
      }),
      // The symlink is briefly absent while switch-to-configuration swaps it.
      catchError((err: unknown) => {
        lastObserved = `<read-error: ${errorMessage(err)}>`;
        return of<Step>({ kind: 'Continue' });
      }),
      map((step): Step => {
        if (step.kind !== 'Continue' || o.scheduler.now() < deadline) return step;
        return { kind: 'Timeout', lastObserved: lastObserved ?? '<no-reads-completed>' };
      }),
    );
    return attempt.pipe(
      repeat({ delay: () => timer(o.intervalMs, o.scheduler) }),
      first((s): s is PollOutcome => s.kind !== 'Continue'),
    );
  });
}

// TestScheduler run mode with the scheduler itself in hand. Run mode also
// virtualises rxjs's asyncScheduler for the callback, so a spec that passed
// `asyncScheduler` would pass even where the code under test dropped its
// scheduler argument: specs hand `ts` to everything they build instead, and
// spec/streams/virtual-time-canary.spec.ts checks the sources without run mode.
import { TestScheduler, type RunHelpers } from 'rxjs/testing';

export function marbles<T>(spec: (ts: TestScheduler, helpers: RunHelpers) => T): T {
  const ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  return ts.run((helpers) => spec(ts, helpers));
}

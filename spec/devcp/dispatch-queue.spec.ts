// The dev CP's dispatch queue: oldest first per host, an upsert per
// rollout, stale entries dropped rather than delivered.
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { createDispatchQueue } from '../../src/devcp/dispatch-queue';
import type { Dispatch } from '../../src/ports/control-plane';

const at = fromEpochMillis(0);
const d = (hostname: string, rolloutId: string, targetClosure = 'c'): Dispatch => ({ hostname, rolloutId, targetClosure, soakDueAt: at, enqueuedAt: at });
const owed = (...ids: string[]) => () => new Set(ids);

describe('dispatch queue', () => {
  it('hands out the oldest owed dispatch first and wakes each host once per enqueue', () => {
    const woken: string[] = [];
    const q = createDispatchQueue((h) => woken.push(h));
    q.enqueue([d('web', 'a'), d('web', 'b'), d('db', 'a')]);
    expect(woken).toEqual(['web', 'db']);
    expect(q.size).toBe(3);
    expect(q.take('web', owed('a', 'b'))?.rolloutId).toBe('a');
    expect(q.take('web', owed('a', 'b'))?.rolloutId).toBe('b');
    expect(q.take('web', owed('a', 'b'))).toBeUndefined();
    expect(q.size).toBe(1);
  });

  it('re-queueing a rollout replaces its entry and moves it to the back', () => {
    const q = createDispatchQueue(() => undefined);
    q.enqueue([d('web', 'a', 'old'), d('web', 'b')]);
    q.enqueue([d('web', 'a', 'new')]);
    expect(q.size).toBe(2);
    expect(q.take('web', owed('a', 'b'))?.rolloutId).toBe('b');
    expect(q.take('web', owed('a', 'b'))?.targetClosure).toBe('new');
  });

  it('drops entries no longer owed instead of delivering them', () => {
    const q = createDispatchQueue(() => undefined);
    q.enqueue([d('web', 'gone'), d('web', 'b')]);
    expect(q.take('web', owed('b'))?.rolloutId).toBe('b');
    expect(q.size).toBe(0);
  });

  it('asks what is owed only when something is queued for the host', () => {
    const q = createDispatchQueue(() => undefined);
    let asked = 0;
    expect(q.take('web', () => (asked++, new Set()))).toBeUndefined();
    expect(asked).toBe(0);
  });
});

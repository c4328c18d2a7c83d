// The one Promise→Observable bridge: cold, one value then complete, and
// unsubscribing aborts the work's signal; nothing settles into a closed subscriber.
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { fromWork } from '../../src/io/from-work';

const deferred = <A>() => {
  let resolve: (a: A) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<A>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('fromWork', () => {
  it('starts the work on subscribe, not before, and emits its value once', async () => {
    let started = 0;
    const o = fromWork(async () => ++started);
    expect(started).toBe(0);
    expect(await lastValueFrom(o.pipe(toArray()))).toEqual([1]);
    expect(await firstValueFrom(o)).toBe(2);
  });

  it('passes the work’s failure on as the error', async () => {
    await expect(firstValueFrom(fromWork(() => Promise.reject(new Error('boom'))))).rejects.toThrow('boom');
  });

  it('aborts the signal on unsubscribe and drops a late result', async () => {
    const d = deferred<string>();
    let signal: AbortSignal | undefined;
    const seen: string[] = [];
    const sub = fromWork((s) => {
      signal = s;
      return d.promise;
    }).subscribe({ next: (v) => seen.push(v), error: () => seen.push('error'), complete: () => seen.push('complete') });
    expect(signal?.aborted).toBe(false);
    sub.unsubscribe();
    expect(signal?.aborted).toBe(true);
    d.resolve('late');
    await d.promise;
    expect(seen).toEqual([]);
  });

  it('does not abort work that already settled', async () => {
    let signal: AbortSignal | undefined;
    await firstValueFrom(
      fromWork(async (s) => {
        signal = s;
        return 1;
      }),
    );
    expect(signal?.aborted).toBe(false);
  });
});

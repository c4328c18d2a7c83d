// The Observable port over the store: lazy (nothing happens before
// subscribe), one value then complete, typed errors on the error channel.
import * as fs from 'node:fs';
import { firstValueFrom, lastValueFrom, toArray, concat } from 'rxjs';
import { storePort } from '../../src/io/store';
import { StoreError, isStoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, tempDir } from './support';

const req = (rolloutId: string): EnqueueRequest => ({
  rolloutId,
  kind: 'DispatchAck',
  durable: true,
  build: (seq) => ({ rolloutId, event: { kind: 'DispatchAck', seq } }),
});

describe('store port', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('port');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('does nothing until subscribed, and each subscription runs the call once', async () => {
    const { store } = openStore(dir);
    const port = storePort(store);
    const enqueue$ = port.enqueue(req('ch@a'));
    expect(store.stats().queued).toBe(0);
    const values = await lastValueFrom(concat(enqueue$, enqueue$).pipe(toArray()));
    expect(values.map((v) => v.seq)).toEqual([1, 2]);
    const pending = await firstValueFrom(port.pending(10));
    expect(pending.map((p) => p.seq)).toEqual([1, 2]);
    expect(await firstValueFrom(port.ack(pending[0]?.id ?? 0))).toBe(true);
    expect(await firstValueFrom(port.deadLetter(pending[1]?.id ?? 0, 'CP answered 422'))).toBe(true);
    expect(await firstValueFrom(port.stats())).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 1 });
    expect((await firstValueFrom(port.deadLetters(5)))[0]?.reason).toBe('CP answered 422');
    expect(await firstValueFrom(port.raiseSeqFloor('ch@a', 9))).toBe(9);
    expect(await firstValueFrom(port.lastSeq('ch@a'))).toBe(9);
    await firstValueFrom(port.confirmClosure({ closure: 'c', confirmedAt: 't' }));
    expect(await firstValueFrom(port.lastConfirmedClosure())).toEqual({ closure: 'c', confirmedAt: 't' });
    await firstValueFrom(port.putCertificate({ serial: 's', fingerprint: 'f', notBefore: 'a', notAfter: 'b' }));
    expect(await firstValueFrom(port.certificate())).toEqual({ serial: 's', fingerprint: 'f', notBefore: 'a', notAfter: 'b' });
    await firstValueFrom(port.putManifest({ rolloutId: 'ch@a', raw: new Uint8Array([1]), signature: new Uint8Array([2]), verifiedAt: 't' }));
    expect((await firstValueFrom(port.manifest('ch@a')))?.verifiedAt).toBe('t');
    store.close();
  });

  it('delivers failures as StoreError on the error channel, without throwing at call time', async () => {
    const { store } = openStore(dir);
    const port = storePort(store);
    store.close();
    const call = port.pending(1); // building the Observable must not throw
    const e = await firstValueFrom(call).catch((err: unknown) => err);
    expect(isStoreError(e)).toBe(true);
    expect((e as StoreError).code).toBe('closed');
  });
});

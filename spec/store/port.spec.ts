// The store as the graph's port: the in-turn calls (enqueueNow, confirmNow)
// write before they return and throw typed errors; every other call is lazy
// (nothing happens before subscribe), one value then complete, typed errors
// on the error channel.
import * as fs from 'node:fs';
import { firstValueFrom } from 'rxjs';
import { storePort } from '../../src/io/store';
import { StoreError, isStoreError, type EnqueueRequest } from '../../src/ports/store';
import { openStore, tempDir, thrown } from './support';

const req = (rolloutId: string, seq: number): EnqueueRequest => ({
  rolloutId,
  seq,
  kind: 'DispatchAck',
  durable: true,
  envelope: { rolloutId, event: { kind: 'DispatchAck', seq } },
});

describe('store port', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('port');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes in-turn calls before they return; does nothing else until subscribed', async () => {
    const { store } = openStore(dir);
    const port = storePort(store);
    port.enqueueNow(req('ch@a', 1));
    expect(store.stats().queued).toBe(1);
    port.enqueueNow(req('ch@a', 2));
    expect((thrown(() => port.enqueueNow(req('ch@a', 2))) as StoreError).code).toBe('seq-reused');
    const pending$ = port.pending(10);
    store.ack(store.pending(1)[0]?.id ?? 0);
    const pending = await firstValueFrom(pending$); // read at subscribe, not at call
    expect(pending.map((p) => p.seq)).toEqual([2]);
    port.enqueueNow(req('ch@a', 3));
    const later = await firstValueFrom(port.pending(10));
    expect(later.map((p) => p.seq)).toEqual([2, 3]);
    expect(await firstValueFrom(port.ack([later[0]?.id ?? 0, 999]))).toBe(1); // 999: no such row, skipped
    expect(await firstValueFrom(port.deadLetter(later[1]?.id ?? 0, 'CP answered 422'))).toBe(true);
    expect(await firstValueFrom(port.stats())).toEqual({ queued: 0, queuedBytes: 0, deadLettered: 1 });
    expect((await firstValueFrom(port.deadLetters(5)))[0]?.reason).toBe('CP answered 422');
    port.confirmNow({ closure: 'c', confirmedAt: 't' });
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

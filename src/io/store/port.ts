// AgentStore as the graph's port (src/ports/store.ts). `enqueueNow` and
// `confirmNow` are the synchronous calls the applier makes inside a reducer
// turn; every other call is deferred to subscription time: nothing happens
// until subscribed, an unsubscribed call never runs, and a failure arrives on
// the error channel as a StoreError.
import { defer, of, type Observable } from 'rxjs';
import type { StorePort } from '../../ports/store';
import type { AgentStore } from './agent-store';
import type { Outbox } from './outbox';

const lazy = <T>(f: () => T): Observable<T> => defer(() => of(f()));

/** With an `outbox`, the queue calls go through it (events the disk refuses are held in memory). */
export const storePort = (store: AgentStore, outbox?: Outbox): StorePort => ({
  enqueueNow: (request) => (outbox ?? store).enqueue(request),
  pending: (limit) => lazy(() => (outbox ?? store).pending(limit)),
  ack: (ids) => lazy(() => (outbox ?? store).ackAll(ids)),
  deadLetter: (id, reason) => lazy(() => (outbox ?? store).deadLetter(id, reason)),
  stats: () => lazy(() => (outbox ?? store).stats()),
  deadLetters: (limit) => lazy(() => store.deadLetters(limit)),
  saveRollouts: (rows) => lazy(() => store.saveRollouts(rows)),
  rollouts: () => lazy(() => store.rollouts()),
  lastConfirmedClosure: () => lazy(() => store.lastConfirmedClosure()),
  confirmNow: (closure) => store.confirmClosure(closure),
  manifest: (rolloutId) => lazy(() => store.manifest(rolloutId)),
  putManifest: (manifest) => lazy(() => store.putManifest(manifest)),
  certificate: () => lazy(() => store.certificate()),
  putCertificate: (meta) => lazy(() => store.putCertificate(meta)),
});

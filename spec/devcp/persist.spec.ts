// A dev CP with a state directory: a restart keeps its CA, keys, trust.json,
// records, burnt nonces and event log; `emptyDatabase` forgets the database
// but not what CI published (the current rollout re-opens as Pending); a
// state file it cannot read stops the start with a readable error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { encodeJson } from '../../src/codecs/decode';
import { AgentEventEnvelope } from '../../src/codecs/events';
import { fromEpochMillis } from '../../src/codecs/timestamp';
import { startDevCp } from '../../src/devcp/dev-cp';
import type { EnrollError } from '../../src/io/enroll/enroll';
import { agentClient, agentFiles, CLOSURE_B, enroll, keys, tempDir, type Keys } from './support';

const now = () => fromEpochMillis(Date.now());

describe('dev CP state directory', () => {
  let k: Keys;
  beforeAll(async () => {
    k = await keys();
  });

  // The CA and keys come from the state directory here, not from the shared fixture.
  const start = (stateDir: string, extra: { emptyDatabase?: boolean } = {}) =>
    startDevCp({ stateDir, hosts: [{ name: 'web-01', pubkey: k.web.sshPublicLine }], ...extra });

  it('a restarted CP keeps its CA, keys, trust.json, records, burnt nonces and event log', async () => {
    const dir = tempDir('persist');
    const cp1 = await start(dir);
    const files = await agentFiles(cp1, k.web, 'web-01');
    await enroll(cp1, files, 'web-01');
    const r = cp1.release({ closures: { 'web-01': CLOSURE_B }, policy: 'halt', soakMinutes: 2 });
    const client = await agentClient(cp1, files);
    const ack = encodeJson(AgentEventEnvelope, { hostname: 'web-01', rolloutId: r.rolloutId, event: { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_B, receivedAt: now(), seq: 1 } });
    expect(await firstValueFrom(client.postEvent(ack))).toEqual({ kind: 'acked' });
    client.close();
    const manifest = cp1.manifest(r.rolloutId);
    await cp1.close();
    for (const f of ['ca-key.pem', 'ci-release-key.pem', 'org-root-key.pem', 'admin-token', 'ci.json', 'db.json']) {
      expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    }

    const cp2 = await start(dir);
    try {
      expect(cp2.caCertPem).toBe(cp1.caCertPem);
      expect(cp2.trustJson).toBe(cp1.trustJson);
      expect(cp2.record(r.rolloutId, 'web-01')).toMatchObject({ state: 'Activating', lastEventSeq: 1 });
      expect(cp2.events(r.rolloutId).map((e) => [e.event.kind, e.outcome])).toEqual([['DispatchAck', 'applied']]);
      // Same rollout, re-signed at start: same host set, fresh signedAt.
      const body = (b: Uint8Array | undefined) => JSON.parse(Buffer.from(b ?? new Uint8Array()).toString('utf8')) as { hostSet: unknown; channelRef: string };
      expect(body(cp2.manifest(r.rolloutId)?.bytes)).toMatchObject({ hostSet: body(manifest?.bytes).hostSet, channelRef: r.ciCommit });
      // The old certificate still works against the new listener (same CA).
      const again = await agentClient(cp2, files);
      await expect(firstValueFrom(again.heartbeat({ hostname: 'web-01', at: now() }))).resolves.toBeDefined();
      again.close();
      // The token's nonce is still burnt.
      fs.rmSync(files.cert);
      const err = (await enroll(cp2, files, 'web-01').then(
        () => undefined,
        (e: unknown) => e,
      )) as EnrollError | undefined;
      expect(err?.cpError).toMatchObject({ status: 409 });
    } finally {
      await cp2.close();
    }
  });

  it('emptyDatabase: records, rollouts table and event log are gone; the current rollout re-opens as Pending', async () => {
    const dir = tempDir('empty-db');
    const cp1 = await start(dir);
    const r = cp1.release({ closures: { 'web-01': CLOSURE_B }, soakMinutes: 1 });
    const files = await agentFiles(cp1, k.web, 'web-01');
    await enroll(cp1, files, 'web-01');
    const client = await agentClient(cp1, files);
    const ack = encodeJson(AgentEventEnvelope, { hostname: 'web-01', rolloutId: r.rolloutId, event: { kind: 'DispatchAck', currentClosureAtDispatch: CLOSURE_B, receivedAt: now(), seq: 1 } });
    expect(await firstValueFrom(client.postEvent(ack))).toEqual({ kind: 'acked' });
    client.close();
    expect(cp1.record(r.rolloutId, 'web-01')?.state).toBe('Activating');
    await cp1.close();
    const cp2 = await start(dir, { emptyDatabase: true });
    try {
      expect(cp2.record(r.rolloutId, 'web-01')).toMatchObject({ state: 'Pending', lastEventSeq: 0 });
      expect(cp2.rollouts().map((x) => x.rolloutId)).toEqual([r.rolloutId]);
      expect(cp2.events()).toEqual([]);
      expect(cp2.replan()).toBe(1);
    } finally {
      await cp2.close();
    }
  });

  it('refuses to start on a state file it cannot decode, naming the file and the field', async () => {
    const dir = tempDir('corrupt');
    const cp = await start(dir);
    await cp.close();
    fs.writeFileSync(path.join(dir, 'db.json'), JSON.stringify({ version: 1, records: { x: { state: 'Queued' } } }));
    await expect(start(dir)).rejects.toThrow(/db\.json: invalid DevCpDbState: \$\.records\.x/);
    // ... unless the database is to be forgotten anyway.
    const fresh = await start(dir, { emptyDatabase: true });
    await fresh.close();
  });

  it('stays bounded: the oldest superseded rollouts leave with their records; the event log keeps its newest entries', async () => {
    const cp = await startDevCp({ hosts: [{ name: 'web-01', pubkey: k.web.sshPublicLine }], maxRollouts: 2, maxEventLog: 3, ca: k.ca, ciReleaseKey: k.ciReleaseKey, orgRootKey: k.orgRootKey });
    try {
      const ids = [1, 2, 3].map((i) => cp.release({ closures: { 'web-01': CLOSURE_B.replace('web-01', `web-0${i}`) }, soakMinutes: 0 }).rolloutId);
      expect(cp.rollouts().map((r) => r.rolloutId)).toEqual(ids.slice(1));
      expect(cp.record(ids[0] ?? '', 'web-01')).toBeUndefined();
      expect(cp.record(ids[2] ?? '', 'web-01')?.state).toBe('Pending');
      const files = await agentFiles(cp, k.web, 'web-01');
      await enroll(cp, files, 'web-01');
      const client = await agentClient(cp, files);
      for (let seq = 1; seq <= 5; seq++) {
        const body = encodeJson(AgentEventEnvelope, { hostname: 'web-01', rolloutId: ids[2] ?? '', event: { kind: 'DispatchAck', currentClosureAtDispatch: '', receivedAt: now(), seq } });
        expect(await firstValueFrom(client.postEvent(body))).toEqual({ kind: 'acked' });
      }
      client.close();
      expect(cp.events().map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(cp.stats()).toMatchObject({ eventLogLength: 3, eventLogDropped: 2 });
    } finally {
      await cp.close();
    }
  });
});

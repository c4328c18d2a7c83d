// The boot-recovery handshake and the host port it reads: one boot-shape
// heartbeat, the snapshots out, never an error; the current closure is the
// basename of the configured current-system symlink.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom, lastValueFrom, NEVER, of, throwError, toArray, asyncScheduler, type Observable } from 'rxjs';
import type { HostRolloutSnapshot } from '../../src/codecs/host-state';
import { createHostPort } from '../../src/io/host';
import { bootRecovery, RECOVERY_TIMEOUT_MS } from '../../src/io/recovery';
import type { CpError, HeartbeatAnswer, HeartbeatRequest } from '../../src/ports/control-plane';
import { mustDecode } from '../support/decode';
import { HostRolloutSnapshot as SnapshotCodec } from '../../src/codecs/host-state';
import { marbles } from '../support/marbles';
import { client, memoryLogger, pki, server, tempDir } from './http/support';

const TARGET = '5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6';

const snapshot = (hostname: string, rolloutId = 'stable@3f9c', lastEventSeq = 4): HostRolloutSnapshot =>
  mustDecode(SnapshotCodec, { rolloutId, hostname, channel: 'stable', state: 'Soaking', targetClosure: TARGET, dispatchedAt: '2026-05-17T09:59:00Z', lastEventSeq });

function fakeCp(answer: () => Observable<HeartbeatAnswer>) {
  const calls: { body: HeartbeatRequest; timeoutMs: number | undefined }[] = [];
  return {
    calls,
    heartbeat(body: HeartbeatRequest, options?: { readonly timeoutMs?: number }) {
      calls.push({ body, timeoutMs: options?.timeoutMs });
      return answer();
    },
  };
}

describe('bootRecovery', () => {
  const host = (closure: string | undefined) => ({ currentClosure: () => of(closure) });

  it('sends the boot-shape heartbeat (no rollout_id) stamped with the scheduler clock and emits this host\'s snapshots', () => {
    marbles((ts, { cold, expectObservable, flush }) => {
      const mine = [snapshot('web-01', 'stable@a', 4), snapshot('web-01', 'edge@b', 2)];
      const cp = fakeCp(() => cold('20ms (a|)', { a: { bootstrapRollouts: [mine[0] as HostRolloutSnapshot, snapshot('db-02'), mine[1] as HostRolloutSnapshot], replayFrom: 7 } }));
      const logger = memoryLogger();
      expectObservable(bootRecovery({ cp, host: host(TARGET), machineId: 'web-01', scheduler: ts, logger })).toBe('20ms (ab|)', { a: mine[0], b: mine[1] });
      flush();
      expect(cp.calls).toEqual([{ body: { hostname: 'web-01', currentClosure: TARGET, at: '1970-01-01T00:00:00Z' }, timeoutMs: RECOVERY_TIMEOUT_MS }]);
      expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
        ['warn', 'boot-recovery: dropped snapshots for another host'],
        ['info', 'boot-recovery: handshake done'],
      ]);
      expect(logger.lines[1]?.fields).toMatchObject({ currentClosure: TARGET, replayFrom: 7, snapshots: 2, rollouts: ['stable@a:Soaking:4', 'edge@b:Soaking:2'] });
    });
  });

  it('omits current_closure when /run/current-system is unreadable', () => {
    marbles((ts, { expectObservable, flush }) => {
      const cp = fakeCp(() => of({ bootstrapRollouts: [] }));
      expectObservable(bootRecovery({ cp, host: host(undefined), machineId: 'web-01', scheduler: ts, logger: memoryLogger() })).toBe('|');
      flush();
      expect(cp.calls[0]?.body).toEqual({ hostname: 'web-01', at: '1970-01-01T00:00:00Z' });
    });
  });

  it('is never fatal: a CP error completes with no snapshots and one warning', () => {
    marbles((ts, { cold, expectObservable, flush }) => {
      const err: CpError = { kind: 'status', status: 503, message: 'not ready', retryAfterSecs: 30 };
      const logger = memoryLogger();
      expectObservable(bootRecovery({ cp: fakeCp(() => cold('5ms #', undefined, err)), host: host(TARGET), machineId: 'web-01', scheduler: ts, logger })).toBe('5ms |');
      flush();
      expect(logger.lines).toEqual([
        { level: 'warn', message: 'boot-recovery: heartbeat failed; starting without snapshots (the heartbeat worker will retry)', fields: { error: 'HTTP 503: not ready' } },
      ]);
    });
  });

  it('gives up after 30 s without an answer (virtual time), and a failing host port does not stop it', () => {
    marbles((ts, { expectObservable }) => {
      const logger = memoryLogger();
      expectObservable(bootRecovery({ cp: fakeCp(() => NEVER), host: host(TARGET), machineId: 'web-01', scheduler: ts, logger })).toBe('30000ms |');
    });
    marbles((ts, { expectObservable }) => {
      const broken = { currentClosure: () => throwError(() => new Error('boom')) };
      const cp = fakeCp(() => of({ bootstrapRollouts: [snapshot('web-01')] }));
      expectObservable(bootRecovery({ cp, host: broken, machineId: 'web-01', scheduler: ts, logger: memoryLogger() })).toBe('(a|)', { a: snapshot('web-01') });
    });
  });

  it('over mTLS against a real server, with the current closure read from a real symlink', async () => {
    const dir = tempDir('recovery');
    const store = path.join(dir, 'nix', 'store', TARGET);
    fs.mkdirSync(store, { recursive: true });
    const link = path.join(dir, 'current-system');
    fs.symlinkSync(store, link);
    const p = await pki();
    const srv = await server(p);
    srv.route('POST', '/v1/agent/heartbeat', () => ({
      status: 200,
      headers: { 'x-nixfleet-replay-from': '4' },
      body: { received_at: '2026-05-17T10:00:00Z', bootstrap_rollouts: [{ ...snapshot('web-01'), extra: 1 }] },
    }));
    const cp = client(p, srv);
    const out = await lastValueFrom(
      bootRecovery({ cp, host: createHostPort({ currentSystemPath: link }), machineId: 'web-01', scheduler: asyncScheduler, logger: memoryLogger() }).pipe(toArray()),
    );
    expect(out).toEqual([snapshot('web-01')]);
    const sent = JSON.parse(srv.requests[0]?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(Object.keys(sent)).toEqual(['hostname', 'current_closure', 'at']);
    expect(sent['current_closure']).toBe(TARGET);
    cp.close();
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('HostPort.currentClosure', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('host');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the basename of the symlink target (one readlink, as upstream), whether or not the target exists', async () => {
    const link = path.join(dir, 'current-system');
    fs.symlinkSync(`/nix/store/${TARGET}`, link);
    expect(await firstValueFrom(createHostPort({ currentSystemPath: link }).currentClosure())).toBe(TARGET);
    const relative = path.join(dir, 'rel');
    fs.symlinkSync(`../store/${TARGET}/`, relative);
    expect(await firstValueFrom(createHostPort({ currentSystemPath: relative }).currentClosure())).toBe(TARGET);
  });

  it('is undefined, never an error, when the link is missing or not a link', async () => {
    expect(await firstValueFrom(createHostPort({ currentSystemPath: path.join(dir, 'nope') }).currentClosure())).toBeUndefined();
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, 'x');
    expect(await firstValueFrom(createHostPort({ currentSystemPath: file }).currentClosure())).toBeUndefined();
    const root = path.join(dir, 'root');
    fs.symlinkSync('/', root);
    expect(await firstValueFrom(createHostPort({ currentSystemPath: root }).currentClosure())).toBeUndefined();
  });

  it('defaults to /run/current-system', async () => {
    const seen: string[] = [];
    const spy = jest.spyOn(fs.promises, 'readlink').mockImplementation(async (p: fs.PathLike) => {
      seen.push(String(p));
      return `/nix/store/${TARGET}`;
    });
    try {
      expect(await firstValueFrom(createHostPort().currentClosure())).toBe(TARGET);
      expect(seen).toEqual(['/run/current-system']);
    } finally {
      spy.mockRestore();
    }
  });
});

// sd_notify against a real Unix datagram socket standing in for systemd's.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createNotifier, watchdogIntervalMs } from '../../src/io/systemd';
import { MemoryLogger } from '../fakes/ports';

interface Server {
  bind(p: string): void;
  on(e: 'message', f: (buf: Buffer) => void): void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', f?: (buf: Buffer) => void): Server };

describe('sd_notify', () => {
  let dir: string;
  let server: Server;
  const received: string[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-'));
    received.length = 0;
    server = unix.createSocket('unix_dgram', (buf) => received.push(buf.toString()));
    server.bind(path.join(dir, 'notify'));
  });
  afterEach(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const until = async (f: () => boolean, ms = 5_000) => {
    const start = performance.now();
    while (!f()) {
      if (performance.now() - start > ms) throw new Error(`timed out; received ${JSON.stringify(received)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('sends READY, STATUS, WATCHDOG at half of WATCHDOG_USEC, and STOPPING', async () => {
    const n = createNotifier(new MemoryLogger(), { NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) });
    n.ready('running');
    expect(n.startWatchdog()).toBe(true);
    await until(() => received.filter((m) => m === 'WATCHDOG=1').length >= 2);
    n.stopping();
    await until(() => received.includes('STOPPING=1\nSTATUS=stopping'));
    n.close();
    expect(received[0]).toBe('READY=1\nSTATUS=running');
  });

  it('asks for more start-up time with a status while enrollment waits', async () => {
    const n = createNotifier(new MemoryLogger(), { NOTIFY_SOCKET: path.join(dir, 'notify') });
    n.extendStartTimeout(70_000, 'enrolling: control plane unreachable');
    await until(() => received.length === 1);
    n.close();
    expect(received).toEqual(['EXTEND_TIMEOUT_USEC=70000000\nSTATUS=enrolling: control plane unreachable']);
  });

  it('is a no-op without NOTIFY_SOCKET, and refuses the abstract namespace with a warning', () => {
    const logger = new MemoryLogger();
    createNotifier(logger, {}).ready();
    createNotifier(logger, { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }).ready();
    expect(logger.messages('warn')).toEqual(['NOTIFY_SOCKET is in the abstract namespace, which this agent cannot reach; readiness is not reported']);
    expect(received).toEqual([]);
  });

  it('is a silent no-op on macOS, even with a NOTIFY_SOCKET (launchd has no readiness protocol)', async () => {
    const logger = new MemoryLogger();
    const n = createNotifier(logger, { NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '100000' }, 'darwin');
    n.ready('running');
    n.extendStartTimeout(1_000, 'enrolling');
    expect(n.startWatchdog()).toBe(false);
    n.stopping();
    n.close();
    // The same calls on Linux reach the socket: the wait below is long enough to see them.
    const linux = createNotifier(logger, { NOTIFY_SOCKET: path.join(dir, 'notify') }, 'linux');
    linux.status('probe');
    await until(() => received.length > 0);
    linux.close();
    expect(received).toEqual(['STATUS=probe']);
    expect(logger.messages('warn')).toEqual([]);
  });

  it('computes the watchdog interval only for this process', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 7)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7)).toBeUndefined();
    expect(watchdogIntervalMs({}, 7)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 7)).toBeUndefined();
  });
});

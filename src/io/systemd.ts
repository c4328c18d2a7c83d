// sd_notify(3) for `Type=notify` units: EXTEND_TIMEOUT_USEC while first-boot
// enrollment waits for the CP, READY=1 once the graph runs,
// WATCHDOG=1 at half of WATCHDOG_USEC while the event loop is alive,
// STOPPING=1 on shutdown. Node has no Unix datagram sockets, so this uses the
// unix-dgram addon. A no-op when NOTIFY_SOCKET is unset (not under systemd)
// and on macOS, where launchd supervises the agent and has no such protocol
// (nothing is loaded there and nothing is warned about).
import { errorMessage } from '../ports/error-text';
import type { Logger } from '../ports/logger';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): DgramSocket;
}

export interface Notifier {
  ready(status?: string): void;
  stopping(): void;
  status(text: string): void;
  /** Before READY: asks systemd for `ms` more start-up time (a `Type=notify` start timeout would otherwise kill a long enrollment wait). */
  extendStartTimeout(ms: number, status: string): void;
  /** Starts WATCHDOG=1 pings when systemd asked for them; returns whether it did. */
  startWatchdog(): boolean;
  close(): void;
}

const noop: Notifier = { ready() {}, stopping() {}, status() {}, extendStartTimeout() {}, startWatchdog: () => false, close() {} };

/** Half of WATCHDOG_USEC in ms, when the watchdog is enabled for this process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && Number(forPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export function createNotifier(logger: Logger, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Notifier {
  const target = env['NOTIFY_SOCKET'];
  if (target === undefined || target === '' || platform === 'darwin') return noop;
  if (target.startsWith('@')) {
    // unix-dgram copies the path with strncpy, which cannot carry the leading NUL.
    logger.warn('NOTIFY_SOCKET is in the abstract namespace, which this agent cannot reach; readiness is not reported', { socket: target });
    return noop;
  }
  let socket: DgramSocket;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    socket = (require('unix-dgram') as UnixDgram).createSocket('unix_dgram');
  } catch (err) {
    logger.warn('sd_notify unavailable (unix-dgram failed to load); readiness is not reported', { error: errorMessage(err) });
    return noop;
  }
  socket.on('error', (err) => logger.warn('sd_notify send failed', { error: err.message }));
  const send = (message: string) => {
    const buf = Buffer.from(message);
    socket.send(buf, 0, buf.length, target, (err) => {
      if (err) logger.warn('sd_notify send failed', { error: err.message, message });
    });
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    ready: (status) => send(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${status}`),
    stopping: () => send('STOPPING=1\nSTATUS=stopping'),
    status: (text) => send(`STATUS=${text}`),
    extendStartTimeout: (ms, status) => send(`EXTEND_TIMEOUT_USEC=${Math.max(0, Math.round(ms)) * 1000}\nSTATUS=${status}`),
    startWatchdog() {
      const every = watchdogIntervalMs(env);
      if (every === undefined || timer !== undefined) return timer !== undefined;
      // The ping comes from a timer on the event loop: a blocked loop stops it.
      timer = setInterval(() => send('WATCHDOG=1'), every);
      timer.unref();
      return true;
    },
    close() {
      if (timer !== undefined) clearInterval(timer);
      socket.close();
    },
  };
}

// One agent per state directory. Two agents on one directory would both
// assign seqs, drain one queue and fire switches; the second must refuse to
// start and say who holds it.
//
// The lock is a Unix socket the agent listens on inside its (0700) state
// directory: the kernel frees it when the process dies, however it dies, and
// no other local user can reach or squat it. A start that finds the socket
// file connects to it: an answer names the holder (pid, since when) and the
// start is refused; a refused connection means a dead holder, and the stale
// file is replaced. No pid file, so no pid reuse after a reboot.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const INSTANCE_LOCK_FILE = 'agent.lock';

/** How long a live holder has to answer: it only writes one short line. */
const HOLDER_ANSWER_MS = 2_000;

export class InstanceLockError extends Error {
  override readonly name = 'InstanceLockError';
}

export interface InstanceLock {
  release(): void;
  /** Set when no lock could be taken and the agent runs without one (say why at WARN). */
  readonly unlocked?: string;
}

// A Unix socket path holds at most 107 bytes (sun_path); a longer state dir
// gets no lock rather than no agent.
const MAX_SOCKET_PATH_BYTES = 107;

interface Holder {
  readonly pid: number;
  readonly since: string;
}

/** What the holder at `file` says about itself; undefined when nobody answers (a stale file). */
function askHolder(file: string): Promise<Holder | 'silent' | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('silent');
    }, HOLDER_ANSWER_MS);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const h = JSON.parse(text) as Partial<Holder>;
        resolve(typeof h.pid === 'number' && typeof h.since === 'string' ? { pid: h.pid, since: h.since } : 'silent');
      } catch {
        resolve('silent');
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? undefined : 'silent');
    });
  });
}

function listen(file: string, holder: Holder): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end(JSON.stringify(holder)));
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      server.unref(); // the lock never keeps the process alive
      resolve(server);
    });
  });
}

/** Takes the state directory's lock, or fails naming the agent that holds it. */
export async function acquireInstanceLock(stateDir: string, since: string): Promise<InstanceLock> {
  const file = path.join(stateDir, INSTANCE_LOCK_FILE);
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) {
    return { release() {}, unlocked: `the state directory's path is too long for its lock socket (${file}); a second agent on it would not be detected` };
  }
  const me: Holder = { pid: process.pid, since };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const server = await listen(file, me);
      return {
        release() {
          server.close();
          fs.rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new InstanceLockError(`cannot take the state directory lock ${file}: ${(e as Error).message}`);
      const holder = await askHolder(file);
      if (holder === 'silent') throw new InstanceLockError(`${file} is held by a process that does not answer; another agent may be starting on ${stateDir}`);
      if (holder !== undefined) throw new InstanceLockError(`another agent (pid ${holder.pid}, running since ${holder.since}) uses the state directory ${stateDir}; refusing to start`);
      fs.rmSync(file, { force: true }); // its holder is gone
    }
  }
  throw new InstanceLockError(`cannot take the state directory lock ${file}: another agent took it while this one started`);
}

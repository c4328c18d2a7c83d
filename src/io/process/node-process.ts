// The real ProcessPort: node:child_process with the child as the leader of
// a new process group (`detached`), so one kill(-pgid) reaches what stayed in
// the group. Upstream's exec probe left timed-out children running
// (reference agent-runtime.md §18 item 20).
//
// On a timeout or an unsubscribe the leader is still running, so its tree
// can be walked: every process whose parent chain in /proc leads to the
// leader (a `setsid` child has left the group but not the tree) is stopped
// first, so nothing forks between the scan and the kill, then the group and
// the whole tree get SIGKILL. Limits: a process that double-forked and was
// reparented to init (a daemon), or anything left after the leader exited on
// its own, is no longer in the tree, so only the group kill reaches it — a
// setsid'd daemon escapes. On a real host a systemd scope (`systemd-run
// --scope`) would hold all of them; without /proc only the group is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { errorMessage } from '../../ports/error-text';
import type { ProcessPort, ProcessRequest, ProcessResult, ProcessTermination } from '../../ports/process';
import { TailBuffer } from './tail-buffer';

export interface NodeProcessOptions {
  /** Timers for timeouts and the close grace. Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Environment for requests that give none. Default: this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Default tail size per stream. Default: 64 KiB. */
  readonly tailBytes?: number;
  /**
   * After the leader exits, how long to wait for its pipes to close. A
   * grandchild that escaped the group (setsid) can hold them open forever.
   * Default: 1000 ms.
   */
  readonly closeGraceMs?: number;
}

export const DEFAULT_TAIL_BYTES = 64 * 1024;
export const DEFAULT_CLOSE_GRACE_MS = 1000;

export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone (or, for a group, already empty).
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined) signal(-child.pid, 'SIGKILL');
}

/** ppid of every process in /proc; empty when /proc cannot be read. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return parents;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last `)`.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number.isSafeInteger(ppid)) parents.set(Number(entry), ppid);
    } catch {
      // Exited between readdir and read.
    }
  }
  return parents;
}

/** Every process whose parent chain leads to `root` (root excluded), as /proc shows it now. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentsByPid()) {
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const found: number[] = [];
  const queue = [root];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const c of children.get(next) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
}

// A tree that keeps forking while it is being frozen gets this many scans.
const MAX_TREE_SCANS = 8;

/**
 * The group and every descendant of a leader that is still running. Only
 * while Node has not reaped the leader is its pid certain to be ours (a
 * reaped pid may already name another process), so the walk needs that.
 */
function killTree(child: ChildProcess): void {
  const root = child.pid;
  if (root !== undefined && child.exitCode === null && child.signalCode === null) {
    signal(root, 'SIGSTOP'); // the leader forks no more while its tree is read
    const stopped = new Set<number>();
    for (let scan = 0; scan < MAX_TREE_SCANS; scan++) {
      const fresh = descendantsOf(root).filter((pid) => !stopped.has(pid));
      if (fresh.length === 0) break;
      for (const pid of fresh) {
        stopped.add(pid);
        signal(pid, 'SIGSTOP');
      }
    }
    killGroup(child);
    for (const pid of stopped) signal(pid, 'SIGKILL');
    return;
  }
  killGroup(child);
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function spawnFailed(err: unknown): ProcessTermination {
  const message = errorMessage(err);
  const code = errnoCode(err);
  return code === undefined ? { kind: 'spawn-failed', message } : { kind: 'spawn-failed', message, code };
}

export function createNodeProcessPort(options: NodeProcessOptions = {}): ProcessPort {
  const scheduler = options.scheduler ?? asyncScheduler;
  const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;

  const run = (req: ProcessRequest): Observable<ProcessResult> =>
    new Observable<ProcessResult>((subscriber) => {
      const out = new TailBuffer(req.stdoutTailBytes ?? tailBytes);
      const err = new TailBuffer(req.stderrTailBytes ?? tailBytes);
      const timers: Subscription[] = [];
      let settled = false;
      let timedOut = false;
      let ended: ProcessTermination | undefined;

      const finish = (termination: ProcessTermination): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) t.unsubscribe();
        subscriber.next({
          termination,
          stdout: out.bytes(),
          stdoutTruncated: out.truncated,
          stderr: err.bytes(),
          stderrTruncated: err.truncated,
        });
        subscriber.complete();
      };

      let child: ChildProcess;
      try {
        const [program, ...args] = req.argv;
        child = spawn(program, args, {
          detached: true,
          stdio: ['ignore', (req.stdoutTailBytes ?? tailBytes) > 0 ? 'pipe' : 'ignore', (req.stderrTailBytes ?? tailBytes) > 0 ? 'pipe' : 'ignore'],
          env: { ...(req.env ?? options.env ?? inheritedEnv()) },
          ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
        });
      } catch (e) {
        // Synchronous refusals, e.g. a NUL byte in an argument.
        finish(spawnFailed(e));
        return undefined;
      }
      child.stdout?.on('data', (c: Buffer) => out.push(c));
      child.stderr?.on('data', (c: Buffer) => err.push(c));
      // `on`, not `once`: a later 'error' without a listener would crash the daemon.
      child.on('error', (e) => {
        if (child.pid === undefined) finish(spawnFailed(e));
      });
      child.once('exit', (code, signal) => {
        if (settled) return;
        ended =
          code !== null
            ? { kind: 'exited', code }
            : timedOut
              ? { kind: 'timed-out', afterMs: req.timeoutMs ?? 0 }
              : { kind: 'signaled', signal: signal ?? 'unknown' };
        // Leftovers in the group (a backgrounded grandchild) die with the leader.
        killGroup(child);
        timers.push(
          scheduler.schedule(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            if (ended !== undefined) finish(ended);
          }, closeGraceMs),
        );
      });
      child.once('close', () => {
        if (ended !== undefined) finish(ended);
      });
      if (req.timeoutMs !== undefined) {
        timers.push(
          scheduler.schedule(() => {
            timedOut = true;
            killTree(child);
          }, req.timeoutMs),
        );
      }
      return () => {
        for (const t of timers) t.unsubscribe();
        if (!settled) {
          settled = true;
          killTree(child);
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
      };
    });

  return { run };
}

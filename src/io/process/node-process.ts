// The real ProcessPort: node:child_process with the child as the leader of
// a new process group (`detached`), so one kill(-pgid) reaches everything it
// started. Upstream's exec probe left timed-out children running
// (reference agent-runtime.md §18 item 20); here nothing outlives a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { ProcessPort, ProcessRequest, ProcessResult, ProcessTermination } from '../../ports/process';
import { errorMessage } from './error-message';
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

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already empty.
  }
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
            killGroup(child);
          }, req.timeoutMs),
        );
      }
      return () => {
        for (const t of timers) t.unsubscribe();
        if (!settled) {
          settled = true;
          killGroup(child);
          child.stdout?.destroy();
          child.stderr?.destroy();
        }
      };
    });

  return { run };
}

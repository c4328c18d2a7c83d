// One function per tool invocation of the pipeline (reference §11.2–§11.4),
// each an argv array through the ProcessPort, each with its timeout.
import { concatMap, map, of, type Observable } from 'rxjs';
import { succeeded, type ProcessRequest, type ProcessResult } from '../../ports/process';
import type { ActivationConfig } from './config';
import { exists } from './host-fs';

/** Upstream's Rust `{:?}` of `Option<i32>`, kept in texts the CP shows. */
export const debugCode = (r: ProcessResult): string =>
  r.termination.kind === 'exited' ? `Some(${r.termination.code})` : 'None';

/** How the process ended, in a few words. */
export function terminationText(r: ProcessResult): string {
  const t = r.termination;
  switch (t.kind) {
    case 'exited':
      return `exited ${t.code}`;
    case 'signaled':
      return `killed by ${t.signal}`;
    case 'timed-out':
      return `timed out after ${t.afterMs} ms`;
    case 'spawn-failed':
      return `spawn failed: ${t.message}`;
  }
}

/** Last `max` bytes of `bytes` as text, backing off to a UTF-8 character boundary. */
export function utf8Tail(bytes: Uint8Array, max: number): string {
  let start = Math.max(0, bytes.length - max);
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return Buffer.from(bytes.subarray(start)).toString('utf8');
}

const run = (cfg: ActivationConfig, argv: readonly [string, ...string[]], timeoutMs: number | undefined, tail?: number): Observable<ProcessResult> => {
  const req: ProcessRequest = {
    argv,
    env: cfg.env,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(tail === undefined ? {} : { stdoutTailBytes: tail, stderrTailBytes: tail }),
  };
  return cfg.process.run(req);
};

/**
 * Is a switch-to-configuration running? Missing lock file → no. A missing
 * `flock` fails open as upstream does (reference §18 item 15), but loudly.
 */
export function switchInProgress(cfg: ActivationConfig): Observable<boolean> {
  return exists(cfg.switchLock).pipe(
    concatMap((present) =>
      !present
        ? of(false)
        : run(cfg, [cfg.tools.flock, '--nonblock', '--shared', cfg.switchLock, 'true'], cfg.toolTimeoutMs).pipe(
            map((r) => {
              if (r.termination.kind === 'spawn-failed') {
                cfg.logger.warn('activation: flock unavailable; switch lock not checked', { flock: cfg.tools.flock, error: r.termination.message });
                return false;
              }
              return !(r.termination.kind === 'exited' && r.termination.code === 0);
            }),
          ),
    ),
  );
}

export const realise = (cfg: ActivationConfig, storePath: string): Observable<ProcessResult> =>
  run(cfg, [cfg.tools.nixStore, '--realise', storePath], cfg.realiseTimeoutMs);

export const setProfile = (cfg: ActivationConfig, storePath: string): Observable<ProcessResult> =>
  run(cfg, [cfg.tools.nixEnv, '--profile', cfg.profile, '--set', storePath], cfg.toolTimeoutMs);

/** Result ignored, as upstream: clears a failed unit of the same name. */
export const resetFailed = (cfg: ActivationConfig, unit: string): Observable<ProcessResult> =>
  run(cfg, [cfg.tools.systemctl, 'reset-failed', `${unit}.service`], cfg.toolTimeoutMs, 4096);

/** Queues `<closure>/bin/switch-to-configuration switch` in a transient unit with its own cgroup. */
export const fireDetached = (cfg: ActivationConfig, unit: string, storePath: string): Observable<ProcessResult> =>
  run(cfg, [cfg.tools.systemdRun, `--unit=${unit}`, '--collect', '--', `${storePath}/bin/switch-to-configuration`, 'switch'], cfg.toolTimeoutMs);

/** Transient unit of a deferred activation's `switch-to-configuration boot`. */
export const bootUnit = (cfg: ActivationConfig): string => `${cfg.switchUnit}-boot`;
/** Time systemd-run has beyond the unit's own limit to report how it ended. */
export const BOOT_REPORT_GRACE_MS = 30_000;

/**
 * Writes the bootloader entry only (nothing live is swapped), in a transient
 * unit like the live switch: the agent's own unit is sandboxed (read-only
 * /boot and /etc), the unit is not. `--wait` makes systemd-run exit with the
 * unit's status and `--pipe` hands it our stdio, so the outcome and its
 * output tail come back as from a child. The boot timeout is the unit's
 * RuntimeMaxSec, enforced by systemd even if the agent dies; systemd-run gets
 * a grace beyond it to report the kill.
 */
export const switchBoot = (cfg: ActivationConfig, storePath: string): Observable<ProcessResult> =>
  run(
    cfg,
    [
      cfg.tools.systemdRun,
      `--unit=${bootUnit(cfg)}`,
      '--collect',
      '--wait',
      '--pipe',
      '--quiet',
      `--property=RuntimeMaxSec=${Math.max(1, Math.ceil(cfg.bootTimeoutMs / 1000))}`,
      '--',
      `${storePath}/bin/switch-to-configuration`,
      'boot',
    ],
    cfg.bootTimeoutMs + BOOT_REPORT_GRACE_MS,
  );

/**
 * The unit's main exit status, or undefined when unknown. `systemctl show`
 * prints `ExecMainStatus=0` for a unit still running and for one already
 * unloaded (`--collect`), so the status counts only when the unit is loaded
 * and its main process has exited (`ExecMainCode=1`, CLD_EXITED).
 */
export function unitExitCode(cfg: ActivationConfig, unit: string): Observable<number | undefined> {
  return run(cfg, [cfg.tools.systemctl, 'show', '--property=LoadState,ExecMainCode,ExecMainStatus', `${unit}.service`], cfg.toolTimeoutMs, 4096).pipe(
    map((r) => (succeeded(r) ? parseUnitExit(Buffer.from(r.stdout).toString('utf8')) : undefined)),
  );
}

export function parseUnitExit(text: string): number | undefined {
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  if (props.get('LoadState') !== 'loaded' || props.get('ExecMainCode') !== '1') return undefined;
  const status = props.get('ExecMainStatus') ?? '';
  return /^\d{1,3}$/.test(status) ? Number(status) : undefined;
}

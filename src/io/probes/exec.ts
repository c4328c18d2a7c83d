// Exec probe (reference §10.3): argv, stdin closed, stdout discarded, exit 0
// passes. The environment is an allowlist of the agent's (config.ts
// probeEnv: PATH, locale, TZ, TMPDIR, NIXFLEET_* but not NIXFLEET_AGENT_*),
// not all of it as upstream. On timeout the child's process group and every
// descendant still in its tree are killed — upstream left them running
// (reference §18 item 20); a daemon that double-forked away escapes
// (src/io/process/node-process.ts).
import { map, of, type Observable } from 'rxjs';
import type { ProbeEntry } from '../../codecs/health-checks';
import type { ProbeRunResult } from '../../ports/probes';
import type { ProbeConfig } from './config';
import { fail, pass } from './reason';

/** Rust's `str::lines`: split on `\n`, drop one trailing `\r`, no empty last line. */
export function rustLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Up to the last three stderr lines, newest first. */
export function stderrSummary(stderr: Uint8Array): string {
  return rustLines(Buffer.from(stderr).toString('utf8')).reverse().slice(0, 3).join(' / ');
}

export function runExec(entry: ProbeEntry, cfg: ProbeConfig): Observable<ProbeRunResult> {
  const [program, ...args] = entry.command;
  if (program === undefined) return of(fail('exec probe: command argv missing'));
  return cfg.process
    .run({ argv: [program, ...args], env: cfg.env, timeoutMs: entry.timeoutSecs * 1000, stdoutTailBytes: 0, stderrTailBytes: cfg.execStderrTailBytes })
    .pipe(
      map((r): ProbeRunResult => {
        const t = r.termination;
        switch (t.kind) {
          case 'exited':
            return t.code === 0 ? pass() : fail(`exec probe: exit Some(${t.code}); stderr: ${stderrSummary(r.stderr)}`);
          case 'signaled':
            return fail(`exec probe: exit None (killed by ${t.signal}); stderr: ${stderrSummary(r.stderr)}`);
          case 'timed-out':
            return fail(`exec probe: timed out after ${entry.timeoutSecs}s`);
          case 'spawn-failed':
            return fail(`exec probe: spawn: ${t.message}`);
        }
      }),
    );
}

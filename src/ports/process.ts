// Child processes as data (design §2 rule 6). An argv array, never a shell
// string; the child leads its own process group so a timeout or an
// unsubscribe kills everything it started, not just the leader.
import type { Observable } from 'rxjs';

export interface ProcessRequest {
  /** Program then arguments. A program without `/` is looked up on the child's PATH. */
  readonly argv: readonly [string, ...string[]];
  /** The child's whole environment; absent = the adapter's default environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Kill the process group after this many ms (on the adapter's scheduler); absent = no limit. */
  readonly timeoutMs?: number;
  /** Last bytes of stdout kept; 0 discards stdout. Default: the adapter's tail size. */
  readonly stdoutTailBytes?: number;
  /** Last bytes of stderr kept; 0 discards stderr. Default: the adapter's tail size. */
  readonly stderrTailBytes?: number;
}

/** How the child ended. Spawn errors are data too, never an Observable error. */
export type ProcessTermination =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: string }
  | { readonly kind: 'timed-out'; readonly afterMs: number }
  | { readonly kind: 'spawn-failed'; readonly message: string; readonly code?: string };

export interface ProcessResult {
  readonly termination: ProcessTermination;
  /** The last `stdoutTailBytes` bytes written to stdout. */
  readonly stdout: Uint8Array;
  readonly stdoutTruncated: boolean;
  readonly stderr: Uint8Array;
  readonly stderrTruncated: boolean;
}

export interface ProcessPort {
  /**
   * Cold: spawns on subscribe, emits one result when the child and every
   * holder of its pipes are gone, then completes. Never errors.
   * Unsubscribing before that kills the child's whole process group.
   */
  run(request: ProcessRequest): Observable<ProcessResult>;
}

/** Exit code 0, the only success. */
export const succeeded = (r: ProcessResult): boolean => r.termination.kind === 'exited' && r.termination.code === 0;

/** Exit code when the child exited on its own, else undefined (upstream's `status.code()`). */
export const exitCodeOf = (r: ProcessResult): number | undefined =>
  r.termination.kind === 'exited' ? r.termination.code : undefined;

// Failure outcomes shared by the pipelines and the platform backends.
import type { ActivationOutcome, RollbackOutcome } from '../../ports/activation';
import { exitCodeOf, type ProcessResult } from '../../ports/process';

const codeOf = (r: ProcessResult | number | undefined): number | undefined => (typeof r === 'object' ? exitCodeOf(r) : r);

export function switchFailed(phase: string, r?: ProcessResult | number): ActivationOutcome {
  const code = codeOf(r);
  return code === undefined ? { kind: 'SwitchFailed', phase } : { kind: 'SwitchFailed', phase, exitCode: code };
}

export function rollbackFailed(phase: string, r?: ProcessResult | number): RollbackOutcome {
  const code = codeOf(r);
  return code === undefined ? { kind: 'Failed', phase } : { kind: 'Failed', phase, exitCode: code };
}

/** A tool that could not even start is a pipeline error (upstream's `Err`), not a phase failure. */
export const spawnError = (what: string, r: ProcessResult): { readonly kind: 'PipelineError'; readonly message: string } | undefined =>
  r.termination.kind === 'spawn-failed' ? { kind: 'PipelineError', message: `spawn ${what}: ${r.termination.message}` } : undefined;

// Reading `nix-store --realise` (reference §11.2 step 2). Nix has no exit
// code for a substituter trust failure, so stderr wording decides between
// SignatureMismatch and RealiseFailed.
import type { ActivationOutcome } from '../../ports/activation';
import type { ProcessResult } from '../../ports/process';
import { debugCode, utf8Tail } from './tools';

export const SIGNATURE_ERROR_NEEDLES = [
  'lacks a valid signature',
  'no signature is trusted',
  'is not signed by any of the keys',
  'no signatures matched',
  'signature mismatch',
  'untrusted signature',
] as const;

/** Bytes of stderr carried in an outcome (upstream keeps the last ~500). */
export const STDERR_TAIL_BYTES = 500;

export function looksLikeSignatureError(stderr: string): boolean {
  const lower = stderr.toLowerCase();
  return SIGNATURE_ERROR_NEEDLES.some((needle) => lower.includes(needle));
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `undefined` when the realised path is the requested one, else the outcome that stops the pipeline. */
export function classifyRealise(r: ProcessResult, closure: string, storePath: string): ActivationOutcome | undefined {
  const t = r.termination;
  const cmd = `nix-store --realise ${storePath}`;
  if (t.kind === 'spawn-failed') return { kind: 'RealiseFailed', reason: `spawn ${cmd}: ${t.message}` };
  if (t.kind === 'timed-out') return { kind: 'RealiseFailed', reason: `${cmd} timed out after ${Math.round(t.afterMs / 1000)}s` };
  if (t.kind === 'signaled' || t.code !== 0) {
    const stderr = Buffer.from(r.stderr).toString('utf8');
    const tail = utf8Tail(r.stderr, STDERR_TAIL_BYTES);
    if (looksLikeSignatureError(stderr)) return { kind: 'SignatureMismatch', closure, stderrTail: tail };
    const how = t.kind === 'signaled' ? `exited None (killed by ${t.signal})` : `exited ${debugCode(r)}`;
    return { kind: 'RealiseFailed', reason: `${cmd} ${how}: ${tail}` };
  }
  let stdout: string;
  try {
    stdout = STRICT_UTF8.decode(r.stdout);
  } catch {
    return { kind: 'RealiseFailed', reason: 'nix-store --realise stdout not utf-8' };
  }
  if (r.stdoutTruncated) return { kind: 'RealiseFailed', reason: 'nix-store --realise produced more output than one store path' };
  if (stdout.length === 0) return { kind: 'RealiseFailed', reason: 'nix-store --realise produced no output' };
  const firstLine = (stdout.split('\n')[0] ?? '').replace(/\r$/, '').trim();
  if (firstLine !== storePath) return { kind: 'RealiseFailed', reason: `realised path ${firstLine} does not match requested ${storePath}` };
  return undefined;
}

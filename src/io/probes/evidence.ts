// Evidence probe (reference §10.4): a read-only consumer of the collector's
// signed evidence file. The file, its `.json.sig` and the host key's `.pub`
// are re-read on every run, in upstream's order; the per-control expansion
// into sub-results is pure (`evaluateEvidence`).
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { catchError, concatMap, map, of, zip, type Observable } from 'rxjs';
import type { ControlOverride, ProbeEntry } from '../../codecs/health-checks';
import type { ProbeSubResult } from '../../codecs/events';
import type { ProbeMode } from '../../codecs/scalars';
import { canonicalizeBytes } from '../../codecs/jcs';
import { compareCodePoints } from '../../codecs/struct';
import { decodeBase64Strict, verifyWithKey } from '../../trust/keys';
import type { ProbeRunResult } from '../../ports/probes';
import type { ProbeConfig } from './config';
import { EVIDENCE_SCHEMA_VERSION, parseEvidence, type EvidenceControl, type EvidenceFile } from './evidence-file';
import { readBounded } from './read-bounded';
import { errorMessage } from '../../ports/error-text';
import { fail } from './reason';
import { hostPublicKey } from './ssh-pubkey';

/** Rust's `Path::with_extension("json.sig")`: replaces the last extension, or adds one. */
export function signaturePath(evidencePath: string): string {
  const dir = path.dirname(evidencePath);
  const base = path.basename(evidencePath);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return path.join(dir, `${stem}.json.sig`);
}

const own = (m: Readonly<Record<string, ControlOverride>>, k: string): ControlOverride | undefined =>
  Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined;

function subResult(c: EvidenceControl, framework: string, article: string | undefined, mode: ProbeMode, reason: string | undefined): ProbeSubResult {
  return {
    controlId: c.controlId,
    status: c.passed ? 'pass' : 'fail',
    framework,
    ...(article === undefined ? {} : { article }),
    effectiveMode: mode,
    ...(reason === undefined ? {} : { overrideReason: reason }),
  };
}

function expand(c: EvidenceControl, framework: string, articles: readonly string[], mode: ProbeMode, reason: string | undefined): ProbeSubResult[] {
  return articles.length === 0 ? [subResult(c, framework, undefined, mode, reason)] : articles.map((a) => subResult(c, framework, a, mode, reason));
}

/** Sub-results and aggregate status of a verified evidence file (reference §10.4 steps 5–8). */
export function evaluateEvidence(entry: ProbeEntry, probeMode: ProbeMode, file: EvidenceFile): ProbeRunResult {
  const framework = entry.framework;
  const subs: ProbeSubResult[] = [];
  for (const c of file.controls) {
    if (framework !== undefined) {
      const o = own(entry.controlOverrides, c.controlId);
      const mode = o?.mode ?? probeMode;
      if (mode === 'disabled') continue;
      const articles = Object.prototype.hasOwnProperty.call(c.frameworkArticles, framework) ? c.frameworkArticles[framework] : undefined;
      if (articles !== undefined) subs.push(...expand(c, framework, articles, mode, o?.reason));
    } else {
      // Custom selection: only listed controls count, each with its own mode.
      const o = own(entry.controls, c.controlId);
      if (o === undefined || o.mode === 'disabled') continue;
      const fws = Object.keys(c.frameworkArticles).sort(compareCodePoints);
      if (fws.length === 0) subs.push(subResult(c, 'custom', undefined, o.mode, o.reason));
      for (const fw of fws) subs.push(...expand(c, fw, c.frameworkArticles[fw] ?? [], o.mode, o.reason));
    }
  }
  if (subs.length === 0)
    return fail(framework !== undefined ? `evidence probe: no controls match framework '${framework}'` : 'evidence probe: no controls matched the explicit selection');
  const ok = subs.every((s) => s.effectiveMode !== 'enforce' || s.status === 'pass');
  if (ok) return { status: 'pass', subResults: subs };
  return { ...fail(`evidence probe: ${framework ?? 'custom-controls'}: at least one enforce-mode control failed`), subResults: subs };
}

const readOr = (p: string, max: number): Observable<E.Either<string, Buffer>> =>
  readBounded(p, max).pipe(
    map((b) => E.right(b)),
    catchError((err: unknown) => of(E.left(`evidence probe: read ${p}: ${errorMessage(err)}`))),
  );

/**
 * Also accepted: a signature over the JCS bytes of the file as written. A
 * producer that adds fields signs those too; upstream's re-serialisation
 * drops them and refuses an authentic file (reference §18 item 22).
 */
function verifyRawCanonical(key: string, payload: Buffer, sig: Uint8Array): boolean {
  const canonical = canonicalizeBytes(payload);
  return E.isRight(canonical) && verifyWithKey('ed25519', key, Buffer.from(canonical.right, 'utf8'), sig);
}

/** Signature check over the canonical bytes (upstream's re-serialised view first), then the expansion. */
export function checkEvidence(entry: ProbeEntry, probeMode: ProbeMode, payload: Buffer, sigText: string, pubkey: Uint8Array): ProbeRunResult {
  const sig = decodeBase64Strict(sigText.trim());
  if (sig === null) return fail('evidence probe: sig base64: invalid base64');
  if (sig.length !== 64) return fail(`evidence probe: sig length ${sig.length} != 64`);
  const parsed = parseEvidence(payload);
  if (E.isLeft(parsed)) return fail(`evidence probe: parse: ${parsed.left}`);
  const key = Buffer.from(pubkey).toString('base64');
  if (!verifyWithKey('ed25519', key, parsed.right.signed, sig) && !verifyRawCanonical(key, payload, sig)) return fail('evidence probe: signature verify failed');
  const version = parsed.right.file.schemaVersion;
  if (version !== EVIDENCE_SCHEMA_VERSION)
    return fail(`evidence probe: schemaVersion ${version} unsupported (agent expects ${EVIDENCE_SCHEMA_VERSION}); upgrade nixfleet-compliance`);
  return evaluateEvidence(entry, probeMode, parsed.right.file);
}

export function runEvidence(entry: ProbeEntry, probeMode: ProbeMode, cfg: ProbeConfig): Observable<ProbeRunResult> {
  const hasControls = Object.keys(entry.controls).length > 0;
  if (entry.framework === undefined && !hasControls) return of(fail('evidence probe: neither framework nor controls declared'));
  if (entry.framework !== undefined && hasControls) return of(fail('evidence probe: framework and controls both set (XOR violation)'));
  const sigPath = signaturePath(entry.evidencePath);
  return readOr(entry.evidencePath, cfg.maxEvidenceBytes).pipe(
    concatMap((payload) =>
      E.isLeft(payload)
        ? of(fail(payload.left))
        : readOr(sigPath, 4096).pipe(
            concatMap((sig) =>
              E.isLeft(sig)
                ? of(fail(sig.left))
                : zip(of(sig.right), hostPublicKey(cfg.sshHostKeyFile)).pipe(
                    map(([s, key]) => (E.isLeft(key) ? fail(`evidence probe: ${key.left}`) : checkEvidence(entry, probeMode, payload.right, s.toString('utf8'), key.right))),
                  ),
            ),
          ),
    ),
  );
}

// The ProbePort: health-checks.json and one run of one probe (reference
// agent-runtime.md §10). Scheduling, first-run and failure-edge events live
// in the graph (src/sources).
import * as E from 'fp-ts/Either';
import { catchError, defer, map, of, type Observable } from 'rxjs';
import { decodeWith } from '../../codecs/decode';
import { PROBE_KINDS, ProbeEntry } from '../../codecs/health-checks';
import type { ProbeDeclaration, ProbePort, ProbeRunResult } from '../../ports/probes';
import { probeConfig, type ProbeConfig, type ProbeConfigInput } from './config';
import { readDeclarations } from './declarations';
import { runEvidence } from './evidence';
import { runExec } from './exec';
import { runHttp } from './http';
import { errorMessage } from '../../ports/error-text';
import { fail, truncateReason } from './reason';
import { runTcp } from './tcp';

export function runProbe(cfg: ProbeConfig, probe: ProbeDeclaration): Observable<ProbeRunResult> {
  return defer((): Observable<ProbeRunResult> => {
    if (!(PROBE_KINDS as readonly string[]).includes(probe.kind)) return of(fail(`unknown probe kind '${probe.kind}'`));
    const decoded = decodeWith(ProbeEntry, { ...probe.spec, kind: probe.kind, mode: probe.mode });
    if (E.isLeft(decoded)) return of(fail(`invalid probe declaration: ${decoded.left.message}`));
    const entry = decoded.right;
    switch (entry.kind) {
      case 'http':
        return runHttp(entry, cfg);
      case 'tcp':
        return runTcp(entry, cfg);
      case 'exec':
        return runExec(entry, cfg);
      case 'evidence':
        return runEvidence(entry, probe.mode, cfg);
    }
  }).pipe(
    // Belt and braces: every reason is capped, and no runner error escapes.
    map((r) => (r.failureReason === undefined ? r : { ...r, failureReason: truncateReason(r.failureReason) })),
    catchError((err: unknown) => of(fail(`probe runner error: ${errorMessage(err)}`))),
  );
}

export function createProbeAdapter(input: ProbeConfigInput = {}): ProbePort {
  const cfg = probeConfig(input);
  return {
    declarations: () => readDeclarations(cfg),
    run: (probe) => runProbe(cfg, probe),
    testMode: () => cfg.testMode(),
  };
}

export { DEFAULT_SSH_HOST_KEY_FILE, isProbeEnvName, PROBE_TEST_MODE_ENV, probeConfig, probeEnv, SSH_HOST_KEY_FILE_ENV, type ProbeConfig, type ProbeConfigInput } from './config';
export { parseHealthChecks, ProbeDeclarationsError, toDeclarations } from './declarations';
export { checkEvidence, evaluateEvidence, signaturePath } from './evidence';
export { parseEvidence, EVIDENCE_SCHEMA_VERSION, type EvidenceFile } from './evidence-file';
export { FAILURE_REASON_MAX_LEN, truncateReason } from './reason';
export { parseOpenSshPublicKey } from './ssh-pubkey';

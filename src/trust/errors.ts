// Verification outcomes named after upstream's `VerifyError` variants, so a
// log line or a test reads the same on both sides. Messages follow upstream's
// Display strings.
import type { DecodeIssue } from '../codecs/decode';
import type { Timestamp } from '../codecs/timestamp';
import { describeTooLarge, type ArtifactMeasure, type ArtifactTooLarge } from './artifact-limits';

export const CLOCK_SKEW_SLACK_SECS = 60;

export type VerifyError =
  | { readonly kind: 'NoTrustRoots'; readonly message: string }
  | { readonly kind: 'Parse'; readonly reason: string; readonly issues: readonly DecodeIssue[]; readonly message: string }
  | { readonly kind: 'Canonicalize'; readonly reason: string; readonly message: string }
  | { readonly kind: 'UnsupportedAlgorithm'; readonly algorithm: string; readonly message: string }
  | { readonly kind: 'BadSignature'; readonly message: string }
  | { readonly kind: 'SchemaVersionUnsupported'; readonly version: number; readonly message: string }
  | { readonly kind: 'NotSigned'; readonly message: string }
  | { readonly kind: 'RejectedBeforeTimestamp'; readonly signedAt: Timestamp; readonly rejectBefore: Timestamp; readonly message: string }
  | { readonly kind: 'Stale'; readonly signedAt: Timestamp; readonly now: Timestamp; readonly windowSecs: number; readonly message: string }
  | { readonly kind: 'FutureDated'; readonly signedAt: Timestamp; readonly now: Timestamp; readonly slackSecs: number; readonly message: string }
  // Ours, not upstream's: the caller's options are unusable (upstream's typed
  // arguments cannot be; its offline CLI exits 2 on the same mistakes).
  | { readonly kind: 'InvalidArgument'; readonly message: string }
  // Ours, not upstream's: refused by the pre-parse bounds (artifact-limits.ts)
  // before any decoding, so a forged body cannot buy seconds of CPU.
  | {
      readonly kind: 'TooLarge';
      readonly artifact: string;
      readonly measure: ArtifactMeasure;
      readonly max: number;
      readonly seen: number;
      /** Byte offset where the limit was crossed. */
      readonly offset: number;
      readonly reason: string;
      readonly message: string;
    };

export type VerifyErrorKind = VerifyError['kind'];

export const noTrustRoots = (): VerifyError => ({ kind: 'NoTrustRoots', message: 'no trust roots configured for artifact verification' });

export const parseError = (artifact: string, reason: string, issues: readonly DecodeIssue[] = [{ path: '$', reason }]): VerifyError => ({
  kind: 'Parse',
  reason,
  issues,
  message: `${artifact} parse failed: ${reason}`,
});

export const canonicalizeError = (reason: string): VerifyError => ({ kind: 'Canonicalize', reason, message: `JCS re-canonicalization failed: ${reason}` });

export const unsupportedAlgorithm = (algorithm: string): VerifyError => ({
  kind: 'UnsupportedAlgorithm',
  algorithm,
  message: `unsupported signature algorithm: ${algorithm} (supported: ed25519, ecdsa-p256)`,
});

export const badSignature = (): VerifyError => ({ kind: 'BadSignature', message: 'signature does not verify against any declared trust root' });

export const schemaVersionUnsupported = (version: number): VerifyError => ({
  kind: 'SchemaVersionUnsupported',
  version,
  message: `unsupported schemaVersion: ${version} (accepted: 1)`,
});

export const notSigned = (): VerifyError => ({ kind: 'NotSigned', message: 'artifact is unsigned (meta.signedAt is null)' });

export const rejectedBefore = (signedAt: Timestamp, rejectBefore: Timestamp): VerifyError => ({
  kind: 'RejectedBeforeTimestamp',
  signedAt,
  rejectBefore,
  message: `artifact signed at ${signedAt} is older than reject_before ${rejectBefore} (compromise switch)`,
});

// Upstream's prefixes.
const STALE = 'stale artifact:';
const FUTURE_DATED = 'future-dated artifact:';

export const stale = (signedAt: Timestamp, now: Timestamp, windowSecs: number): VerifyError => ({
  kind: 'Stale',
  signedAt,
  now,
  windowSecs,
  message: `${STALE} signedAt=${signedAt}, now=${now}, window=${windowSecs}s`,
});

export const futureDated = (signedAt: Timestamp, now: Timestamp): VerifyError => ({
  kind: 'FutureDated',
  signedAt,
  now,
  slackSecs: CLOCK_SKEW_SLACK_SECS,
  message:
    `${FUTURE_DATED} signedAt=${signedAt} is more than ${CLOCK_SKEW_SLACK_SECS}s ahead of now=${now} ` +
    `(clock skew tolerance is ${CLOCK_SKEW_SLACK_SECS}s; pre-signing suggests CI key compromise - rotate via reject_before)`,
});

export const invalidArgument = (message: string): VerifyError => ({ kind: 'InvalidArgument', message });

export const tooLarge = (artifact: string, t: ArtifactTooLarge): VerifyError => {
  const reason = describeTooLarge(artifact, t);
  return { kind: 'TooLarge', artifact, ...t, reason, message: reason };
};

/**
 * Freshness refusals keep upstream's texts (which blame the CI key); when the
 * host's own clock is the cause, the operator needs to hear that too.
 */
export function freshnessClockHint(kind: VerifyErrorKind): string | undefined {
  switch (kind) {
    case 'FutureDated':
      return "if this host's clock is behind (check time sync), every artifact looks future-dated";
    case 'Stale':
      return "if this host's clock is ahead (check time sync), every artifact looks stale";
    default:
      return undefined;
  }
}

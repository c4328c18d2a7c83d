// Bootstrap tokens (reference wire-protocol.md §7.2, trust-and-signing.md
// §5.7): ed25519 over the JCS bytes of `claims` as the CP re-serialises them
// from the parsed struct (chrono timestamps, struct members only), standard
// padded base64 of the raw 64-byte signature, checked against the org root
// key's current and previous slots (ed25519 only, others skipped).
import * as crypto from 'node:crypto';
import { canonicalize } from '../codecs/jcs';
import { addSeconds, type Timestamp } from '../codecs/timestamp';
import type { TrustedPubkey } from '../codecs/trust-config';
import { TokenClaims, type BootstrapToken } from '../codecs/wire';
import { decodeBase64Strict } from '../trust/keys';
import { signBytes, verifyEd25519, type SigningKey } from './keys';

export const TOKEN_VERSION = 1;
/** Default token lifetime: one day. */
export const DEFAULT_TOKEN_TTL_SECS = 86_400;

/** 16 random bytes as 32 lowercase hex characters (upstream `mint-token`). */
export const newNonce = (): string => crypto.randomBytes(16).toString('hex');

/** The exact bytes a token signature covers. */
export const claimsSigningBytes = (claims: TokenClaims): Uint8Array => new TextEncoder().encode(canonicalize(TokenClaims.encode(claims)));

export interface MintTokenOptions {
  readonly hostname: string;
  /** Standard padded base64 of SHA-256 over the host's raw ed25519 public key. */
  readonly expectedPubkeyFingerprint: string;
  /** Use whole seconds: a fraction survives only in chrono's spelling (reference §1.3). */
  readonly issuedAt: Timestamp;
  /** Default issuedAt + 1 day. */
  readonly expiresAt?: Timestamp;
  /** Default a fresh random nonce. */
  readonly nonce?: string;
}

/** A token as upstream's `nixfleet mint-token` writes it. */
export function mintToken(orgRoot: SigningKey, opts: MintTokenOptions): BootstrapToken {
  const claims: TokenClaims = {
    hostname: opts.hostname,
    expectedPubkeyFingerprint: opts.expectedPubkeyFingerprint,
    issuedAt: opts.issuedAt,
    expiresAt: opts.expiresAt ?? addSeconds(opts.issuedAt, DEFAULT_TOKEN_TTL_SECS),
    nonce: opts.nonce ?? newNonce(),
  };
  return { version: TOKEN_VERSION, claims, signature: Buffer.from(signBytes(orgRoot, claimsSigningBytes(claims))).toString('base64') };
}

export type TokenSignatureVerdict = 'ok' | 'mismatch' | 'no-keys';

/**
 * upstream `verify_bootstrap_token_against_trust`: `no-keys` when the org
 * root slot holds no key at all (a 500 upstream), `mismatch` when no ed25519
 * candidate verifies (or the token version is not 1), else `ok`.
 */
export function verifyTokenSignature(token: BootstrapToken, orgRootKeys: readonly TrustedPubkey[]): TokenSignatureVerdict {
  if (orgRootKeys.length === 0) return 'no-keys';
  if (token.version !== TOKEN_VERSION) return 'mismatch';
  const signature = decodeBase64Strict(token.signature);
  if (signature === null || signature.length !== 64) return 'mismatch';
  const message = claimsSigningBytes(token.claims);
  for (const key of orgRootKeys) {
    if (key.algorithm !== 'ed25519') continue;
    const raw = decodeBase64Strict(key.public);
    if (raw === null || raw.length !== 32) continue;
    if (verifyEd25519(raw, message, signature)) return 'ok';
  }
  return 'mismatch';
}

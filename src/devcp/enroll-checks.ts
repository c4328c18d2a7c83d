// `POST /v1/enroll` and `POST /v1/agent/renew` checks, in upstream's order
// and with its status codes (reference wire-protocol.md §4.1, §4.2, §7;
// upstream routes/enrollment.rs). Pure apart from parsing the CSR: the
// caller supplies the lookups and records the nonce.
import * as crypto from 'node:crypto';
import { compareTimestamps, type Timestamp } from '../codecs/timestamp';
import type { TrustedPubkey } from '../codecs/trust-config';
import type { EnrollRequest } from '../codecs/wire';
import type { FleetHost } from './fleet';
import type { AllowedNonce } from './persist';
import { parseCsr, parseSshEd25519PublicLine, type ParsedCsr } from './pki';
import { verifyTokenSignature } from './tokens';

export type Verdict<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly status: number; readonly reason: string };

const refuse = (status: number, reason: string): Verdict<never> => ({ ok: false, status, reason });

export interface EnrollContext {
  readonly now: Timestamp;
  readonly nonceUsed: (nonce: string) => boolean;
  /** The signed bootstrap-nonce allowlist entry, if any. */
  readonly allowlisted: (nonce: string) => AllowedNonce | undefined;
  /** Upstream rejects every nonce missing from the allowlist; off accepts tokens minted elsewhere. */
  readonly requireAllowlist: boolean;
  /** orgRootKey current, previous. */
  readonly orgRootKeys: readonly TrustedPubkey[];
  readonly host: (name: string) => FleetHost | undefined;
}

/** base64 SHA-256 (upstream `issuance::fingerprint`). */
export const fingerprint = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('base64');

function bindToDeclaredKey(csr: ParsedCsr, declared: FleetHost | undefined, who: string): Verdict<void> {
  if (declared === undefined) return refuse(401, `host ${who} is not declared in fleet.resolved`);
  if (!csr.isEd25519 || csr.publicKeyBytes.length !== 32) return refuse(400, 'CSR key is not a 32-byte ed25519 key');
  const declaredRaw = parseSshEd25519PublicLine(declared.pubkey);
  if (declaredRaw === undefined) return refuse(401, `host ${who} has no usable ssh-ed25519 pubkey in fleet.resolved`);
  if (!Buffer.from(declaredRaw).equals(Buffer.from(csr.publicKeyBytes))) return refuse(401, `CSR key is not the SSH host key declared for ${who}`);
  return { ok: true, value: undefined };
}

/** Every check before issuance; `ok` carries the CSR and the machine id to issue for. */
export async function checkEnroll(ctx: EnrollContext, req: EnrollRequest): Promise<Verdict<{ readonly machineId: string; readonly csr: ParsedCsr }>> {
  const { claims } = req.token;
  if (ctx.nonceUsed(claims.nonce)) return refuse(409, `token nonce ${claims.nonce} already used`);
  const entry = ctx.allowlisted(claims.nonce);
  if (ctx.requireAllowlist) {
    if (entry === undefined) return refuse(401, 'nonce not in the bootstrap-nonce allowlist');
    if (entry.hostname !== claims.hostname) return refuse(401, `allowlist entry is for host ${entry.hostname}`);
    if (compareTimestamps(ctx.now, entry.expiresAt) >= 0) return refuse(401, 'allowlist entry expired');
  }
  if (compareTimestamps(ctx.now, claims.issuedAt) < 0 || compareTimestamps(ctx.now, claims.expiresAt) >= 0) return refuse(401, 'token outside its validity window');
  const sig = verifyTokenSignature(req.token, ctx.orgRootKeys);
  if (sig === 'no-keys') return refuse(500, 'trust has no orgRootKey to verify tokens with');
  if (sig === 'mismatch') return refuse(401, 'token signature did not verify against any orgRootKey candidate');
  const parsed = await parseCsr(req.csrPem);
  if (!parsed.ok) return refuse(400, parsed.reason);
  const csr = parsed.value;
  if (csr.cn === undefined) return refuse(400, 'CSR has no CN');
  if (csr.cn !== claims.hostname) return refuse(401, `CSR CN (${csr.cn}) does not match token hostname (${claims.hostname})`);
  if (fingerprint(csr.publicKeyBytes) !== claims.expectedPubkeyFingerprint) return refuse(401, 'CSR pubkey fingerprint does not match the token');
  const bound = bindToDeclaredKey(csr, ctx.host(csr.cn), csr.cn);
  if (!bound.ok) return bound;
  return { ok: true, value: { machineId: csr.cn, csr } };
}

/** Renewal: the CSR key must be the host key declared for the caller's machine id. */
export async function checkRenew(host: (name: string) => FleetHost | undefined, machineId: string, csrPem: string): Promise<Verdict<ParsedCsr>> {
  const parsed = await parseCsr(csrPem);
  if (!parsed.ok) return refuse(400, parsed.reason);
  const csr = parsed.value;
  if (!csr.isEd25519 || csr.publicKeyBytes.length !== 32) return refuse(400, 'CSR key is not a 32-byte ed25519 key');
  const bound = bindToDeclaredKey(csr, host(machineId), machineId);
  return bound.ok ? { ok: true, value: csr } : bound;
}

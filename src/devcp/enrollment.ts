// Bootstrap tokens and certificates: minting a token for a declared host,
// `POST /v1/enroll` (checks in enroll.ts, then the nonce is burnt, then the
// fleet CA issues) and `POST /v1/agent/renew`. The state it reads and
// writes is reached through `EnrollmentDeps`, read at the moment of use:
// enrollment awaits the CSR checks, and the state may move meanwhile.
import { activeKeys, type TrustConfig } from '../codecs/trust-config';
import { addSeconds, fromEpochMillis, toEpochMillis, type Timestamp } from '../codecs/timestamp';
import type { BootstrapToken, EnrollRequest, IssuedCert } from '../codecs/wire';
import { errorMessage } from '../ports/error-text';
import type { Logger } from '../ports/logger';
import { checkEnroll, checkRenew, fingerprint, type Verdict } from './enroll-checks';
import type { FleetHost } from './fleet';
import type { SigningKey } from './keys';
import type { AllowedNonce } from './persist';
import { issueFromCsr, parseSshEd25519PublicLine, type FleetCa } from './pki';
import { DEFAULT_TOKEN_TTL_SECS, mintToken } from './tokens';

export interface TokenOptions {
  /** Default 86 400. */
  readonly ttlSecs?: number;
  readonly issuedAt?: Timestamp;
  readonly expiresAt?: Timestamp;
  readonly nonce?: string;
}

/** How the dev CP enrolls: keys, CA and policy, fixed for its lifetime. */
export interface EnrollmentConfig {
  readonly ca: FleetCa;
  readonly orgRootKey: SigningKey;
  /** The trust roots the CP itself verifies bootstrap tokens with (its `orgRootKey`). */
  readonly trust: TrustConfig;
  /** `agent-<id>.<suffix>` CNs; bare CNs when undefined. */
  readonly cnSuffix: string | undefined;
  readonly certValiditySecs: number;
  readonly requireNonceAllowlist: boolean;
}

export interface EnrollmentDeps extends EnrollmentConfig {
  readonly now: () => Timestamp;
  readonly logger: Logger;
  readonly host: (name: string) => FleetHost | undefined;
  readonly allowlisted: (nonce: string) => AllowedNonce | undefined;
  /** A minted token's nonce joins the allowlist. */
  readonly allowNonce: (nonce: string, entry: AllowedNonce, now: Timestamp) => void;
  readonly nonceBurnt: (nonce: string) => boolean;
  /** An accepted token's nonce can never enroll again. */
  readonly burnNonce: (nonce: string, hostname: string, now: Timestamp) => void;
}

export interface Enrollment {
  /** A token for a declared host, its nonce in the allowlist (as CI would sign it into bootstrap-nonces.json). */
  mintToken(hostname: string, options?: TokenOptions): BootstrapToken;
  enroll(req: EnrollRequest): Promise<Verdict<IssuedCert>>;
  renew(machineId: string, csrPem: string): Promise<Verdict<IssuedCert>>;
}

export function createEnrollment(deps: EnrollmentDeps): Enrollment {
  async function issue(csrPem: string, machineId: string, now: Timestamp, context: string): Promise<Verdict<IssuedCert>> {
    try {
      const cert = await issueFromCsr(deps.ca, csrPem, {
        nowMs: toEpochMillis(now),
        machineId,
        ...(deps.cnSuffix !== undefined ? { cnSuffix: deps.cnSuffix } : {}),
        validitySecs: deps.certValiditySecs,
      });
      deps.logger.info('dev-cp: certificate issued', { cn: cert.cn, notAfter: cert.notAfter.toISOString(), serial: cert.serial, context });
      // Certificate times are whole seconds: chrono's spelling has no fraction.
      return { ok: true, value: { certPem: cert.certPem, notAfter: fromEpochMillis(cert.notAfter.getTime()) } };
    } catch (e) {
      return { ok: false, status: 400, reason: `issue certificate: ${errorMessage(e)}` };
    }
  }

  return {
    mintToken(hostname, opts = {}) {
      const decl = deps.host(hostname);
      if (decl === undefined) throw new Error(`mint token: host ${hostname} is not declared`);
      const raw = parseSshEd25519PublicLine(decl.pubkey);
      if (raw === undefined) throw new Error(`mint token: host ${hostname} has no ssh-ed25519 pubkey`);
      const now = deps.now();
      // Whole seconds: chrono re-emits a fraction differently.
      const issuedAt = opts.issuedAt ?? fromEpochMillis(Math.floor(toEpochMillis(now) / 1000) * 1000);
      const expiresAt = opts.expiresAt ?? addSeconds(issuedAt, opts.ttlSecs ?? DEFAULT_TOKEN_TTL_SECS);
      const token = mintToken(deps.orgRootKey, { hostname, expectedPubkeyFingerprint: fingerprint(raw), issuedAt, expiresAt, ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}) });
      deps.allowNonce(token.claims.nonce, { hostname, expiresAt }, now);
      return token;
    },

    async enroll(req) {
      const now = deps.now();
      const checked = await checkEnroll(
        {
          now,
          nonceUsed: deps.nonceBurnt,
          allowlisted: deps.allowlisted,
          requireAllowlist: deps.requireNonceAllowlist,
          orgRootKeys: deps.trust.orgRootKey === undefined ? [] : activeKeys(deps.trust.orgRootKey),
          host: deps.host,
        },
        req,
      );
      if (!checked.ok) return checked;
      // Burn the nonce before the (async) issuance: a concurrent enroll with the same token gets 409.
      const nonce = req.token.claims.nonce;
      if (deps.nonceBurnt(nonce)) return { ok: false, status: 409, reason: 'token nonce used concurrently' };
      deps.burnNonce(nonce, checked.value.machineId, now);
      return issue(req.csrPem, checked.value.machineId, now, `enroll/nonce:${nonce}`);
    },

    async renew(machineId, csrPem) {
      const checked = await checkRenew(deps.host, machineId, csrPem);
      if (!checked.ok) return checked;
      return issue(csrPem, machineId, deps.now(), 'renew');
    },
  };
}

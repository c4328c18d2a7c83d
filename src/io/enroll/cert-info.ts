// Facts read from the client certificate: validity (for the renewal
// threshold), its public key (it must be the host key before we install it)
// and its serial (for logs). Pure over PEM text; Left is a readable reason.
import * as crypto from 'node:crypto';
import * as E from 'fp-ts/Either';
import { fromEpochMillis, instantOf, type Timestamp } from '../../codecs/timestamp';
import type { CertValidity } from '../../ports/host';
import { errorMessage } from '../../ports/error-text';
import { readCertDer } from './cert-der';

export interface CertInfo extends CertValidity {
  readonly serial: string;
  readonly subject: string;
  /** Raw 32-byte key when the certificate holds an ed25519 key, else undefined. */
  readonly ed25519PublicRaw: Uint8Array | undefined;
  /** Lowercase hex SHA-256 of the DER certificate. */
  readonly fingerprint: string;
}

const FIRST_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The leaf (first certificate) of a PEM bundle. Node's own X509Certificate,
 * not @peculiar/x509: this runs at every start and loading that costs more
 * than the rest of the start-up; cert-der.ts keeps the old field formats.
 */
export function parseCertPem(pem: string): E.Either<string, CertInfo> {
  const block = FIRST_CERT.exec(pem)?.[0];
  if (block === undefined) return E.left('no PEM certificate found');
  try {
    // OpenSSL must accept the block (TLS will use it); the fields and the
    // fingerprint are read from the same bytes, decoded here.
    const key = new crypto.X509Certificate(block).publicKey;
    const der = Buffer.from(block.replace(/-----(BEGIN|END) CERTIFICATE-----/g, ''), 'base64');
    const fields = readCertDer(der);
    const ed25519PublicRaw = key.asymmetricKeyType === 'ed25519' ? new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(-32)) : undefined;
    return E.right({
      notBefore: fromEpochMillis(fields.notBeforeMs),
      notAfter: fromEpochMillis(fields.notAfterMs),
      serial: fields.serial,
      subject: fields.subject,
      ed25519PublicRaw,
      fingerprint: crypto.createHash('sha256').update(der).digest('hex'),
    });
  } catch (e) {
    return E.left(`unreadable certificate: ${errorMessage(e)}`);
  }
}

/**
 * Upstream's `cert_remaining_fraction`: whole seconds, total at least 1 s,
 * elapsed clamped at 0; renew when the result drops below the threshold.
 */
export function remainingFraction(validity: CertValidity, now: Timestamp): number {
  const nb = instantOf(validity.notBefore).seconds;
  const na = instantOf(validity.notAfter).seconds;
  const total = Math.max(na - nb, 1);
  const elapsed = Math.max(instantOf(now).seconds - nb, 0);
  return Math.max(total - elapsed, 0) / total;
}

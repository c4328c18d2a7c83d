// CertPort: the client certificate's validity and its renewal (reference
// wire-protocol.md §4.2, agent-runtime.md §8.8). A renewal is one CSR from
// the host key, one POST /v1/agent/renew over the current identity, then —
// only if the answer is a certificate for the host key that TLS accepts —
// an atomic write and a live swap of the client's HTTPS identity. Any
// failure before that point changes nothing: the working cert stays on disk
// and in use. When to renew and how long to wait after a failure is the
// renewal worker's (src/sources/cert-renewal.ts).
import * as E from 'fp-ts/Either';
import { catchError, concatMap, defer, map, throwError, type Observable } from 'rxjs';
import { isCpError, type CpError } from '../../ports/control-plane';
import type { CertPort, CertValidity } from '../../ports/host';
import { silentLogger, type Logger } from '../../ports/logger';
import type { CpClient } from '../http/client';
import { fromWork } from '../from-work';
import { cpFailureText } from '../http/failure-text';
import { PRIVATE_FILE_MODE, writeFileAtomic } from './atomic-write';
import { parseCertPem } from './cert-info';
import { createCsrPem } from './csr';
import { readHostKey } from './host-key';
import { checkCertMatchesKey, readPemFile } from './identity';

export interface CertPortConfig {
  /** The client every port shares; its identity is swapped after a renewal. */
  readonly client: CpClient;
  readonly machineId: string;
  /** `--client-cert`: read for validity, replaced on renewal. */
  readonly certFile: string;
  /** `--ssh-host-key-file`: signs the CSR (and is the TLS key of the renewed identity). */
  readonly hostKeyFile: string;
  readonly logger?: Logger;
}

export class CertRenewError extends Error {
  override readonly name = 'CertRenewError';
  constructor(
    message: string,
    readonly cpError?: CpError,
  ) {
    super(message);
  }
}

const toRenewError = (e: unknown): CertRenewError =>
  e instanceof CertRenewError ? e : new CertRenewError(cpFailureText(e), isCpError(e) ? e : undefined);

export function createCertPort(config: CertPortConfig): CertPort {
  const logger = config.logger ?? silentLogger;
  const { client, certFile } = config;

  const validity = (): Observable<CertValidity> =>
    readPemFile(certFile, 'client certificate').pipe(
      map((pem) => {
        const info = parseCertPem(pem);
        if (E.isLeft(info)) throw new Error(`client certificate ${certFile}: ${info.left}`);
        return { notBefore: info.right.notBefore, notAfter: info.right.notAfter };
      }),
    );

  const renew = (): Observable<CertValidity> =>
    defer(() => readHostKey(config.hostKeyFile)).pipe(
      concatMap((key) =>
        fromWork(() => createCsrPem(key, config.machineId)).pipe(
          concatMap((csrPem) => client.renew(csrPem)),
          concatMap((issued) => {
            const fit = checkCertMatchesKey(issued.certPem, key, 'renew: issued certificate');
            if (E.isLeft(fit)) return throwError(() => new CertRenewError(fit.left));
            const info = parseCertPem(issued.certPem);
            if (E.isLeft(info)) return throwError(() => new CertRenewError(`renew: issued certificate: ${info.left}`));
            // Validate the new identity before touching the file: a cert TLS
            // would refuse must never replace the one that works.
            const prepared = client.prepareIdentity({ ...client.identity, cert: issued.certPem, key: key.pkcs8Pem });
            // Write and install in one unit that an unsubscribe cannot split,
            // so the file on disk and the identity in use never disagree.
            return fromWork(async () => {
              await writeFileAtomic(certFile, issued.certPem, PRIVATE_FILE_MODE);
              client.installIdentity(prepared);
              logger.info('renewed - wrote cert and swapped the live HTTPS identity (key unchanged: ssh host key)', {
                cert: certFile,
                notAfter: info.right.notAfter,
                serial: info.right.serial,
              });
              return { notBefore: info.right.notBefore, notAfter: info.right.notAfter };
            });
          }),
        ),
      ),
      // A throw inside an operator (prepareIdentity) lands here too.
      catchError((e: unknown) => throwError(() => toRenewError(e))),
    );

  return { validity, renew };
}

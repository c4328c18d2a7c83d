// The agent's TLS material from its configured files (reference
// agent-runtime.md §14.1): the CA that signs the CP's certificate, and — when
// both are configured — the client certificate with the host key as its key.
import * as crypto from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as E from 'fp-ts/Either';
import { concatMap, map, of, throwError, type Observable } from 'rxjs';
import type { TlsMaterial } from '../http/agents';
import { errorMessage } from '../../ports/error-text';
import { fromWork } from '../from-work';
import { parseCertPem } from './cert-info';
import { readHostKey, type HostKey } from './host-key';

export interface IdentityFiles {
  /** `--ca-cert`; required at run time (optional in the type for callers that spread it in). */
  readonly caFile?: string;
  /** `--client-cert` */
  readonly clientCertFile?: string;
  /** `--client-key` (the SSH host key, OpenSSH or PKCS#8) */
  readonly clientKeyFile?: string;
}

// CA bundles and certificates are a few KiB; a cap keeps a wrong path from reading a disk image.
const MAX_PEM_BYTES = 1024 * 1024;

export const readPemFile = (file: string, what: string): Observable<string> =>
  fromWork(async () => {
    const st = await fs.stat(file).catch((e: unknown) => {
      throw new Error(`${what} ${file}: ${errorMessage(e)}`);
    });
    if (st.size > MAX_PEM_BYTES) throw new Error(`${what} ${file}: ${st.size} bytes is too large for a PEM file`);
    return fs.readFile(file, 'utf8');
  });

/** The client certificate must hold the host key, or TLS would fail later with a vaguer error. */
export function checkCertMatchesKey(certPem: string, key: HostKey, what: string): E.Either<string, void> {
  const info = parseCertPem(certPem);
  if (E.isLeft(info)) return E.left(`${what}: ${info.left}`);
  const pub = info.right.ed25519PublicRaw;
  if (pub === undefined || !Buffer.from(pub).equals(Buffer.from(key.publicRaw))) return E.left(`${what}: certificate public key is not the host key`);
  return E.right(undefined);
}

export const NO_CA_MESSAGE = 'no CA certificate configured (--ca-cert): refusing to trust the public roots for the control plane';

/** Why `pem` cannot serve as the CA (`--ca-cert`), or undefined: it must hold at least one parseable X.509 certificate. */
export function caCertificateProblem(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate';
  for (const [i, block] of blocks.entries()) {
    try {
      new crypto.X509Certificate(block);
    } catch (e) {
      return `certificate ${i + 1} does not parse: ${errorMessage(e)}`;
    }
  }
  return undefined;
}

/** The CA file's text; an error (never the public roots) when none is configured or it holds no usable certificate. */
export const readCaFile = (caFile: string | undefined): Observable<string> =>
  caFile === undefined
    ? throwError(() => new Error(NO_CA_MESSAGE))
    : readPemFile(caFile, 'CA certificate').pipe(
        concatMap((pem) => {
          const problem = caCertificateProblem(pem);
          return problem === undefined ? of(pem) : throwError(() => new Error(`--ca-cert ${caFile}: not a usable CA certificate: ${problem}`));
        }),
      );

/** CA only, unless both client files are configured (then the cert must exist and match the key). */
export function loadTlsMaterial(files: IdentityFiles): Observable<TlsMaterial> {
  return readCaFile(files.caFile).pipe(
    concatMap((ca) => {
      const base: TlsMaterial = { ca };
      const { clientCertFile, clientKeyFile } = files;
      if (clientCertFile === undefined || clientKeyFile === undefined) return of(base);
      return readHostKey(clientKeyFile).pipe(
        concatMap((key) =>
          readPemFile(clientCertFile, 'client certificate').pipe(
            map((cert) => {
              const ok = checkCertMatchesKey(cert, key, `client certificate ${clientCertFile}`);
              if (E.isLeft(ok)) throw new Error(ok.left);
              return { ...base, cert, key: key.pkcs8Pem };
            }),
          ),
        ),
      );
    }),
  );
}

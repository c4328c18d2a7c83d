// PKCS#10 certificate request for enrollment and renewal (reference
// wire-protocol.md §7.1): subject `CN=<machine id>` only, no extensions,
// signed with the host ed25519 key. The CN is a UTF8String as rcgen writes it.
// node-forge cannot do ed25519 (design §5); @peculiar/x509 over WebCrypto can.
import { webcrypto } from 'node:crypto';
import type { Observable } from 'rxjs';
import { fromWork } from '../from-work';
import type { HostKey } from './host-key';
import { x509 } from './x509-lazy';

const ED25519 = { name: 'Ed25519' } as const;
const COMMON_NAME_OID = '2.5.4.3';

const provider = webcrypto;

export async function importHostKeyPair(key: HostKey): Promise<webcrypto.CryptoKeyPair> {
  const [privateKey, publicKey] = await Promise.all([
    provider.subtle.importKey('pkcs8', key.pkcs8Der, ED25519, false, ['sign']),
    provider.subtle.importKey('raw', key.publicRaw, ED25519, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}

/** PEM CSR for `machineId`, signed by the host key. */
export async function createCsrPem(key: HostKey, machineId: string): Promise<string> {
  if (machineId.length === 0) throw new Error('machine id is empty; the CSR needs CN=<machine id>');
  const keys = await importHostKeyPair(key);
  const { Name, Pkcs10CertificateRequestGenerator } = x509();
  const csr = await Pkcs10CertificateRequestGenerator.create(
    { name: new Name([{ [COMMON_NAME_OID]: [{ utf8String: machineId }] }]), keys, signingAlgorithm: ED25519 },
    provider,
  );
  return csr.toString('pem') + '\n';
}

export const buildCsr = (key: HostKey, machineId: string): Observable<string> => fromWork(() => createCsrPem(key, machineId));

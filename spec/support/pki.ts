// Test PKI: the dev control plane's (src/devcp/pki.ts) with the wall clock
// filled in, under the names the specs have always used.
import {
  createFleetCa,
  issueClientCert as issueClientCertAt,
  issueFromCsr as issueFromCsrAt,
  issueServerCert as issueServerCertAt,
  type FleetCa,
  type HostKeyMaterial,
} from '../../src/devcp/pki';

export {
  csrPublicRaw,
  ed25519PublicBlob,
  encodeOpenSsh,
  importEd25519Public,
  makeHostKey,
  sshString,
  type IssuedCert,
  type KeyedCert,
  type OpenSshParts,
} from '../../src/devcp/pki';

export type TestCa = FleetCa;
export type TestHostKey = HostKeyMaterial;

export const createCa = (name = 'nixfleet test CA'): Promise<TestCa> => createFleetCa({ name, nowMs: Date.now(), validityDays: 365 });

export const issueServerCert = (ca: TestCa, opts: { ips?: string[]; dns?: string[]; cn?: string } = {}) =>
  issueServerCertAt(ca, { nowMs: Date.now(), cn: 'control-plane.test', ...opts });

export const issueClientCert = (ca: TestCa, opts: { cn: string; publicRaw: Uint8Array; notBefore?: Date; notAfter?: Date }) => issueClientCertAt(ca, { ...opts, nowMs: Date.now() });

/** Issuance as the CP does it; without `notBefore`, one second before now (as the specs always had it). */
export const issueFromCsr = (ca: TestCa, csrPem: string, opts: { cnSuffix?: string; validitySecs?: number; notBefore?: Date } = {}) =>
  issueFromCsrAt(ca, csrPem, { notBefore: new Date(Date.now() - 1000), ...opts, nowMs: Date.now() });

// Host identity: the SSH host key, CSRs, first-boot enrollment, renewal.
export { writeAtomic, writeFileAtomic } from './atomic-write';
export { parseCertPem, remainingFraction, type CertInfo } from './cert-info';
export { buildCsr, createCsrPem, importHostKeyPair } from './csr';
export { ENROLL_NOT_READY_RETRY_MS, EnrollError, enrollIfNeeded, readBootstrapToken, type EnrollConfig, type EnrollOutcome } from './enroll';
export { fingerprintOf, HostKeyError, MAX_HOST_KEY_BYTES, parseHostKey, readHostKey, type HostKey } from './host-key';
export { checkCertMatchesKey, loadTlsMaterial, readPemFile, type IdentityFiles } from './identity';
export { ed25519Pkcs8Der, ed25519PublicOf, parseOpenSshEd25519, type OpenSshEd25519 } from './openssh';
export { CertRenewError, createCertPort, type CertPortConfig } from './renewal';

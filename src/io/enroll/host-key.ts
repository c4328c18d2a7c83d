// The host's identity key: `/etc/ssh/ssh_host_ed25519_key` by default, also
// the mTLS client key and the CSR signing key (reference wire-protocol.md
// §7.1; the CP refuses any other key). OpenSSH files are converted to PKCS#8
// in memory; a PKCS#8 PEM passes through as upstream's comms.rs allows. The
// agent never writes or generates a key.
import * as crypto from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as E from 'fp-ts/Either';
import type { Observable } from 'rxjs';
import { errorMessage } from '../../ports/error-text';
import { fromWork } from '../from-work';
import { ed25519Pkcs8Der, ed25519PublicOf, parseOpenSshEd25519 } from './openssh';

export interface HostKey {
  readonly privateKey: crypto.KeyObject;
  /** `-----BEGIN PRIVATE KEY-----` PEM, as TLS and WebCrypto take it. */
  readonly pkcs8Pem: string;
  readonly pkcs8Der: Uint8Array;
  readonly publicRaw: Uint8Array;
  /** Standard padded base64 of SHA-256 over the raw public key: the token's `expectedPubkeyFingerprint`. */
  readonly fingerprint: string;
}

export class HostKeyError extends Error {
  override readonly name = 'HostKeyError';
}

// A host key file is a few hundred bytes; anything larger is not one.
export const MAX_HOST_KEY_BYTES = 64 * 1024;

export const fingerprintOf = (publicRaw: Uint8Array): string => crypto.createHash('sha256').update(publicRaw).digest('base64');

function fromSeed(seed: Uint8Array): HostKey {
  const der = ed25519Pkcs8Der(seed);
  const privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const publicRaw = ed25519PublicOf(seed);
  return {
    privateKey,
    pkcs8Pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    pkcs8Der: new Uint8Array(der),
    publicRaw,
    fingerprint: fingerprintOf(publicRaw),
  };
}

function fromPkcs8Pem(text: string): E.Either<string, HostKey> {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    return E.left(`unreadable PEM private key: ${errorMessage(e)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') return E.left(`key is not ed25519 (algorithm: ${key.asymmetricKeyType ?? 'unknown'}); the agent needs the ssh-ed25519 host key`);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  // The seed is the last 32 bytes of an RFC 8410 PrivateKeyInfo without attributes.
  return E.right(fromSeed(new Uint8Array(der.subarray(der.length - 32))));
}

/** Parses key file text (OpenSSH or PKCS#8 PEM, ed25519 only). Pure; Left is the reason. */
export function parseHostKey(text: string): E.Either<string, HostKey> {
  if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) return E.map((k: { seed: Uint8Array }) => fromSeed(k.seed))(parseOpenSshEd25519(text));
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) return E.left('key is encrypted (PKCS#8 with a passphrase); the agent needs the unencrypted host key');
  if (text.includes('-----BEGIN PRIVATE KEY-----')) return fromPkcs8Pem(text);
  const other = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (other !== undefined) return E.left(`unsupported key format "${other}"; the agent needs the OpenSSH ssh-ed25519 host key`);
  return E.left('not a private key (no OpenSSH or PEM armour found)');
}

/** Reads and parses the key file; refuses files any "other" user may access. */
export function readHostKey(file: string): Observable<HostKey> {
  return fromWork(async () => {
    const fail = (why: string): never => {
      throw new HostKeyError(`host key ${file}: ${why}`);
    };
    const handle = await fs.open(file, 'r').catch((e: unknown) => fail(`cannot open: ${errorMessage(e)}`));
    try {
      const st = await handle.stat();
      if (!st.isFile()) fail('not a regular file');
      if ((st.mode & 0o007) !== 0) {
        fail(`permissions ${(st.mode & 0o777).toString(8).padStart(4, '0')} are too open: the key is accessible to every user; chmod o-rwx (0600 expected)`);
      }
      if (st.size > MAX_HOST_KEY_BYTES) fail(`file is ${st.size} bytes; a host key is under ${MAX_HOST_KEY_BYTES}`);
      const text = (await handle.readFile()).toString('utf8');
      const parsed = parseHostKey(text);
      return E.isRight(parsed) ? parsed.right : fail(parsed.left);
    } finally {
      await handle.close();
    }
  });
}

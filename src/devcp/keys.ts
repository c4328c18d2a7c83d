// The dev CP's ed25519 signing keys: the CI release key (signs fleet.resolved
// and rollout manifests) and the org root key (signs bootstrap tokens).
// Raw 64-byte signatures over the exact bytes given; public halves in the
// trust.json form (standard padded base64 of the raw 32 bytes).
import * as crypto from 'node:crypto';

export interface SigningKey {
  readonly privateKey: crypto.KeyObject;
  /** Raw 32-byte public key. */
  readonly publicRaw: Uint8Array;
  /** trust.json `public`: standard padded base64 of `publicRaw`. */
  readonly publicBase64: string;
  /** PKCS#8 PEM, for a key file in the state directory. */
  readonly pkcs8Pem: string;
}

function fromPrivate(privateKey: crypto.KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key must be ed25519, got ${String(privateKey.asymmetricKeyType)}`);
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicRaw = new Uint8Array(spki.subarray(spki.length - 32));
  return {
    privateKey,
    publicRaw,
    publicBase64: Buffer.from(publicRaw).toString('base64'),
    pkcs8Pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export const generateSigningKey = (): SigningKey => fromPrivate(crypto.generateKeyPairSync('ed25519').privateKey);

/** A PKCS#8 PEM ed25519 key; throws a readable error otherwise. */
export function loadSigningKey(pem: string): SigningKey {
  return fromPrivate(crypto.createPrivateKey({ key: pem, format: 'pem' }));
}

/** Raw 64-byte ed25519 signature. */
export const signBytes = (key: SigningKey, message: Uint8Array): Uint8Array => new Uint8Array(crypto.sign(null, message, key.privateKey));

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * ed25519 verification as ed25519-dalek's `verify` (what upstream uses for
 * bootstrap tokens): OpenSSL refuses non-canonical S like dalek 2.x; small
 * order keys are not refused (the org root key is the operator's own).
 */
export function verifyEd25519(publicRaw: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicRaw.length !== 32 || signature.length !== 64) return false;
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicRaw]), format: 'der', type: 'spki' });
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

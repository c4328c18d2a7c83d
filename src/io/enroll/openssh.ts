// Parser for the OpenSSH private-key container (`openssh-key-v1`, PROTOCOL.key
// in the OpenSSH sources). node:crypto cannot read it (design §5), and the
// agent's identity is the host's SSH ed25519 key, so we take the 32-byte seed
// out of it ourselves. Only unencrypted single-key files are accepted. Pure:
// text in, a seed or a reason out; never throws.
import * as crypto from 'node:crypto';
import * as E from 'fp-ts/Either';
import { errorMessage } from '../../ports/error-text';

export interface OpenSshEd25519 {
  readonly seed: Uint8Array;
  readonly publicRaw: Uint8Array;
  readonly comment: string;
}

const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const ED25519 = 'ssh-ed25519';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Sequential reader of SSH wire types (RFC 4251 §5); every read is bounds-checked. */
class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  get remaining(): number {
    return this.buf.length - this.offset;
  }
  uint32(what: string): number {
    if (this.remaining < 4) throw new Error(`truncated before ${what}`);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(what: string): Buffer {
    const len = this.uint32(`${what} length`);
    if (len > this.remaining) throw new Error(`truncated ${what} (needs ${len} bytes, ${this.remaining} left)`);
    const out = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return out;
  }
  string(what: string): string {
    return this.bytes(what).toString('latin1');
  }
  rest(): Buffer {
    const out = this.buf.subarray(this.offset);
    this.offset = this.buf.length;
    return out;
  }
}

/** Base64 body between the armour lines; Left when the armour is missing or broken. */
export function unarmor(text: string): E.Either<string, Buffer> {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return E.left('not an OpenSSH private key (missing BEGIN/END OPENSSH PRIVATE KEY lines)');
  const body = text.slice(start + BEGIN.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return E.left('OpenSSH private key body is not valid base64');
  return E.right(Buffer.from(body, 'base64'));
}

function keyTypeOf(blob: Buffer): string {
  try {
    return new Reader(blob).string('key type');
  } catch {
    return 'unknown';
  }
}

/** Public half of an ed25519 seed, via node:crypto (catches a seed/public mismatch in the file). */
export function ed25519PublicOf(seed: Uint8Array): Uint8Array {
  const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const der = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** PKCS#8 DER of an ed25519 seed (RFC 8410): a fixed 16-byte prefix and the seed. */
export function ed25519Pkcs8Der(seed: Uint8Array): Buffer {
  return Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
}

function parseContainer(raw: Buffer): OpenSshEd25519 {
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an openssh-key-v1 container (bad magic)');
  const r = new Reader(raw.subarray(MAGIC.length));
  const cipher = r.string('cipher name');
  const kdf = r.string('kdf name');
  r.bytes('kdf options');
  if (cipher !== 'none' || kdf !== 'none') {
    throw new Error(`key is encrypted (cipher ${cipher}, kdf ${kdf}); passphrase-protected host keys are not supported — the agent needs the unencrypted host key`);
  }
  const count = r.uint32('key count');
  if (count !== 1) throw new Error(`file holds ${count} keys; expected exactly one`);
  const publicBlob = r.bytes('public key');
  const publicType = keyTypeOf(publicBlob);
  if (publicType !== ED25519) throw new Error(`key is not ed25519 (algorithm: ${publicType}); the agent needs the ssh-ed25519 host key`);
  const section = new Reader(r.bytes('private section'));
  if (r.remaining !== 0) throw new Error('trailing bytes after the private section');
  const check1 = section.uint32('check int');
  const check2 = section.uint32('check int');
  if (check1 !== check2) throw new Error('check integers differ (corrupt key, or encrypted with a wrong passphrase)');
  const type = section.string('private key type');
  if (type !== ED25519) throw new Error(`key is not ed25519 (algorithm: ${type}); the agent needs the ssh-ed25519 host key`);
  const pub = section.bytes('ed25519 public key');
  const priv = section.bytes('ed25519 private key');
  const comment = section.string('comment');
  if (pub.length !== 32) throw new Error(`ed25519 public key is ${pub.length} bytes, expected 32`);
  if (priv.length !== 64) throw new Error(`ed25519 private key is ${priv.length} bytes, expected 64 (seed || public)`);
  if (!priv.subarray(32).equals(pub)) throw new Error('private key does not embed its public key (corrupt key)');
  const outerPub = new Reader(publicBlob);
  outerPub.string('key type');
  if (!outerPub.bytes('public key').equals(pub)) throw new Error('public key section differs from the private section (corrupt key)');
  // Padding is 1, 2, 3, … up to the cipher block size (8 for "none").
  const padding = section.rest();
  if (padding.length >= 8 || padding.some((b, i) => b !== i + 1)) throw new Error('bad padding after the private section (corrupt key)');
  const seed = new Uint8Array(priv.subarray(0, 32));
  if (!Buffer.from(ed25519PublicOf(seed)).equals(pub)) throw new Error('seed does not derive the stored public key (corrupt key)');
  return { seed, publicRaw: new Uint8Array(pub), comment };
}

/** Parses an OpenSSH ed25519 private key file's text. */
export function parseOpenSshEd25519(text: string): E.Either<string, OpenSshEd25519> {
  const raw = unarmor(text);
  if (E.isLeft(raw)) return raw;
  try {
    return E.right(parseContainer(raw.right));
  } catch (e) {
    return E.left(errorMessage(e));
  }
}

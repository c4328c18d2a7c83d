// A `--host name=file` key file, read and checked before the dev CP writes
// anything: the ssh-ed25519 line it declares, and the private key an agent
// on this machine would prove that key with (for the printed command line).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { parseHostKey } from '../io/enroll/host-key';
import { parseOpenSshEd25519 } from '../io/enroll/openssh';
import { errorMessage } from '../ports/error-text';
import { parseSshEd25519PublicLine, sshPublicLineOf } from './pki';

// A public key file is one line; a host key a few hundred bytes.
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface HostKeyFile {
  /** `ssh-ed25519 AAAA… comment`. */
  readonly pubkey: string;
  /** Absolute path of the private key: the file itself, or a `.pub` file's sibling holding the same key. */
  readonly privateKeyFile: string | undefined;
}

type Parsed = { readonly pubkey: string; readonly isPrivate: boolean };

/** The key in `text`; throws the reason (no file name) when it is none. */
function parseKeyText(text: string): Parsed {
  if (text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {
    const k = parseOpenSshEd25519(text);
    if (E.isLeft(k)) throw new Error(`not an OpenSSH ed25519 private key: ${k.left}`);
    return { pubkey: sshPublicLineOf(k.right.publicRaw, k.right.comment), isPrivate: true };
  }
  if (text.includes('-----BEGIN')) {
    const k = parseHostKey(text);
    if (E.isLeft(k)) throw new Error(`not an ed25519 private key: ${k.left}`);
    return { pubkey: sshPublicLineOf(k.right.publicRaw, ''), isPrivate: true };
  }
  const line = text.split('\n').find((l) => l.trim() !== '')?.trim();
  if (line === undefined) throw new Error('empty');
  if (parseSshEd25519PublicLine(line) === undefined) throw new Error(`not an ssh-ed25519 public key (it starts ${JSON.stringify(line.slice(0, 24))})`);
  return { pubkey: line, isPrivate: false };
}

async function readKey(file: string): Promise<Parsed> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_KEY_FILE_BYTES) throw new Error(`${st.size} bytes is not a key file`);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new Error(`cannot read it: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(e)}`, { cause: e });
  }
  return parseKeyText(text);
}

const sameKey = (a: string, b: string) => a.split(/\s+/)[1] === b.split(/\s+/)[1];

/** Reads and checks `file`; throws the reason (without the file name) when it declares no usable key. */
export async function readHostKeyFile(file: string): Promise<HostKeyFile> {
  const key = await readKey(file);
  if (key.isPrivate) return { pubkey: key.pubkey, privateKeyFile: path.resolve(file) };
  if (!file.endsWith('.pub')) return { pubkey: key.pubkey, privateKeyFile: undefined };
  // ssh-keygen's layout: the private half beside, without `.pub`.
  const sibling = file.slice(0, -'.pub'.length);
  const priv = await readKey(sibling).catch(() => undefined);
  return { pubkey: key.pubkey, privateKeyFile: priv?.isPrivate === true && sameKey(priv.pubkey, key.pubkey) ? path.resolve(sibling) : undefined };
}

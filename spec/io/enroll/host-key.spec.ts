// The SSH host key: openssh-key-v1 (ed25519, unencrypted) → PKCS#8 and the
// raw public key; refusals for encrypted, non-ed25519, world-readable and
// malformed files, each with a message naming the problem.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { firstValueFrom } from 'rxjs';
import { parseHostKey, readHostKey } from '../../../src/io/enroll/host-key';
import { parseOpenSshEd25519 } from '../../../src/io/enroll/openssh';
import { ed25519PublicBlob, encodeOpenSsh, makeHostKey, sshString } from '../../support/pki';
import { tempDir } from '../http/support';

const left = (e: E.Either<string, unknown>): string => (E.isLeft(e) ? e.left : 'accepted');

function keygen(dir: string, name: string, args: string[]): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-f', file, '-C', 'root@test', ...args], { stdio: 'ignore' });
  return file;
}

describe('host key', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('hostkey');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads an OpenSSH ed25519 key into PKCS#8, the raw public key and the token fingerprint', () => {
    const k = makeHostKey(new Uint8Array(32).fill(9));
    const r = parseHostKey(k.openssh);
    if (E.isLeft(r)) throw new Error(r.left);
    expect(Buffer.from(r.right.publicRaw)).toEqual(Buffer.from(k.publicRaw));
    expect(r.right.pkcs8Pem).toBe(k.pkcs8Pem);
    expect(r.right.fingerprint).toBe(k.fingerprint);
    expect(r.right.fingerprint).toHaveLength(44);
    // The converted key signs what the public key verifies.
    const sig = crypto.sign(null, Buffer.from('m'), r.right.privateKey);
    expect(crypto.verify(null, Buffer.from('m'), crypto.createPublicKey(k.privateKey), sig)).toBe(true);
  });

  it('reads a key written by ssh-keygen, and agrees with `ssh-keygen -y` on the public key', async () => {
    const file = keygen(dir, 'real_ed25519', ['-t', 'ed25519', '-N', '']);
    const key = await firstValueFrom(readHostKey(file));
    const line = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
    expect(line.split(' ')[1]).toBe(ed25519PublicBlob(key.publicRaw).toString('base64'));
  });

  it.each([
    ['rsa', ['-t', 'rsa', '-b', '1024', '-N', ''], 'key is not ed25519 (algorithm: ssh-rsa)'],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256', '-N', ''], 'key is not ed25519 (algorithm: ecdsa-sha2-nistp256)'],
    ['encrypted ed25519', ['-t', 'ed25519', '-N', 'secret passphrase'], 'key is encrypted (cipher aes256-ctr, kdf bcrypt)'],
  ])('refuses an ssh-keygen %s key with a clear message', async (name, args, message) => {
    const file = keygen(dir, name.replace(/ /g, '_'), args);
    const e = await firstValueFrom(readHostKey(file)).catch((err: unknown) => err as Error);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain(`host key ${file}: ${message}`);
  });

  it('refuses a world-readable key and names the fix; group-readable (RHEL ssh_keys) is accepted', async () => {
    const k = makeHostKey();
    const file = path.join(dir, 'perm_key');
    fs.writeFileSync(file, k.openssh, { mode: 0o600 });
    fs.chmodSync(file, 0o644);
    const e = await firstValueFrom(readHostKey(file)).catch((err: unknown) => err as Error);
    expect((e as Error).message).toBe(`host key ${file}: permissions 0644 are too open: the key is accessible to every user; chmod o-rwx (0600 expected)`);
    fs.chmodSync(file, 0o640);
    expect(Buffer.from((await firstValueFrom(readHostKey(file))).publicRaw)).toEqual(Buffer.from(k.publicRaw));
    fs.chmodSync(file, 0o600);
    expect((await firstValueFrom(readHostKey(file))).fingerprint).toBe(k.fingerprint);
  });

  it('refuses a missing file, a directory and an oversized file', async () => {
    const msg = (f: string) => firstValueFrom(readHostKey(f)).then(() => 'accepted', (e: Error) => e.message);
    expect(await msg(path.join(dir, 'nope'))).toMatch(/^host key .*nope: cannot open: ENOENT/);
    const sub = path.join(dir, 'a-dir');
    fs.mkdirSync(sub, { mode: 0o700 });
    expect(await msg(sub)).toBe(`host key ${sub}: not a regular file`);
    const big = path.join(dir, 'big');
    fs.writeFileSync(big, Buffer.alloc(70_000, 0x41), { mode: 0o600 });
    expect(await msg(big)).toBe(`host key ${big}: file is 70000 bytes; a host key is under 65536`);
  });

  it('passes a PKCS#8 ed25519 PEM through (upstream comms.rs) and refuses other PEM keys', () => {
    const k = makeHostKey();
    expect(E.map((h: { fingerprint: string }) => h.fingerprint)(parseHostKey(k.pkcs8Pem))).toEqual(E.right(k.fingerprint));
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(left(parseHostKey(ec.export({ format: 'pem', type: 'pkcs8' }).toString()))).toBe('key is not ed25519 (algorithm: ec); the agent needs the ssh-ed25519 host key');
    expect(left(parseHostKey(ec.export({ format: 'pem', type: 'sec1' }).toString()))).toBe('unsupported key format "EC PRIVATE KEY"; the agent needs the OpenSSH ssh-ed25519 host key');
    const enc = k.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    expect(left(parseHostKey(enc))).toBe('key is encrypted (PKCS#8 with a passphrase); the agent needs the unencrypted host key');
    expect(left(parseHostKey('hello'))).toBe('not a private key (no OpenSSH or PEM armour found)');
  });

  describe('malformed openssh-key-v1 containers', () => {
    const k = makeHostKey(new Uint8Array(32).fill(3));
    const pub = Buffer.from(k.publicRaw);
    const good = { publicBlob: ed25519PublicBlob(k.publicRaw), privateFields: [sshString(pub), sshString(Buffer.concat([Buffer.from(k.seed), pub]))] };
    const other = makeHostKey(new Uint8Array(32).fill(4));

    it.each<[string, string, string]>([
      ['bad armour', 'nothing here', 'not an OpenSSH private key (missing BEGIN/END OPENSSH PRIVATE KEY lines)'],
      ['bad base64', '-----BEGIN OPENSSH PRIVATE KEY-----\n***\n-----END OPENSSH PRIVATE KEY-----', 'OpenSSH private key body is not valid base64'],
      ['bad magic', '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----', 'not an openssh-key-v1 container (bad magic)'],
      ['two keys', encodeOpenSsh({ ...good, count: 2 }), 'file holds 2 keys; expected exactly one'],
      ['check ints differ', encodeOpenSsh({ ...good, checkInts: [1, 2] }), 'check integers differ (corrupt key, or encrypted with a wrong passphrase)'],
      ['private type', encodeOpenSsh({ ...good, keyType: 'ssh-dss' }), 'key is not ed25519 (algorithm: ssh-dss); the agent needs the ssh-ed25519 host key'],
      ['short public', encodeOpenSsh({ ...good, privateFields: [sshString(pub.subarray(1)), good.privateFields[1] as Buffer] }), 'ed25519 public key is 31 bytes, expected 32'],
      ['short private', encodeOpenSsh({ ...good, privateFields: [sshString(pub), sshString(Buffer.from(k.seed))] }), 'ed25519 private key is 32 bytes, expected 64 (seed || public)'],
      [
        'private without its public',
        encodeOpenSsh({ ...good, privateFields: [sshString(pub), sshString(Buffer.concat([Buffer.from(k.seed), Buffer.from(other.publicRaw)]))] }),
        'private key does not embed its public key (corrupt key)',
      ],
      [
        'outer public differs',
        encodeOpenSsh({ ...good, publicBlob: ed25519PublicBlob(other.publicRaw) }),
        'public key section differs from the private section (corrupt key)',
      ],
      [
        'seed of another key',
        encodeOpenSsh({ ...good, privateFields: [sshString(pub), sshString(Buffer.concat([Buffer.from(other.seed), pub]))] }),
        'seed does not derive the stored public key (corrupt key)',
      ],
      ['bad padding', encodeOpenSsh({ ...good, padding: Buffer.from([9, 9, 9]) }), 'bad padding after the private section (corrupt key)'],
      ['trailing bytes', encodeOpenSsh({ ...good, trailing: Buffer.from([0]) }), 'trailing bytes after the private section'],
      ['kdf without cipher', encodeOpenSsh({ ...good, kdf: 'bcrypt' }), 'key is encrypted (cipher none, kdf bcrypt)'],
    ])('%s', (_name, text, message) => {
      expect(left(parseOpenSshEd25519(text))).toContain(message);
    });

    it('never throws on truncated or bit-flipped containers (fuzz)', () => {
      const raw = Buffer.from(k.openssh.split('\n').slice(1, -2).join(''), 'base64');
      const armour = (b: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      fc.assert(
        fc.property(fc.nat(raw.length - 1), fc.nat(raw.length - 1), fc.integer({ min: 1, max: 255 }), (cut, at, flip) => {
          const truncated = parseHostKey(armour(raw.subarray(0, cut)));
          expect(E.isLeft(truncated)).toBe(true);
          const flipped = Buffer.from(raw);
          flipped[at] = (flipped[at] ?? 0) ^ flip;
          const r = parseHostKey(armour(flipped));
          // A flip may land in the comment and still give a valid key; never a wrong one.
          if (E.isRight(r)) expect(Buffer.from(r.right.publicRaw)).toEqual(pub);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
          expect(E.isLeft(parseHostKey(armour(Buffer.concat([Buffer.from('openssh-key-v1\0'), Buffer.from(bytes)]))))).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  });
});

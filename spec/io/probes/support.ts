// Helpers for the probe specs: declarations through the real codec, loopback
// servers on 127.0.0.1 port 0, a self-signed TLS certificate, and an
// OpenSSH ed25519 host key pair.
import 'reflect-metadata';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import * as E from 'fp-ts/Either';
import { firstValueFrom } from 'rxjs';
import { decodeWith } from '../../../src/codecs/decode';
import { HealthChecks } from '../../../src/codecs/health-checks';
import { createProbeAdapter, toDeclarations, type ProbeConfigInput } from '../../../src/io/probes';
import type { ProbeDeclaration, ProbeRunResult } from '../../../src/ports/probes';

export const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-probe-'));

/** One declaration, decoded exactly as health-checks.json would be. */
export function declare(entry: Record<string, unknown>, name = 'p'): ProbeDeclaration {
  const r = decodeWith(HealthChecks, { [name]: entry });
  if (E.isLeft(r)) throw new Error(r.left.message);
  const [d] = toDeclarations(r.right);
  if (d === undefined) throw new Error('no declaration');
  return d;
}

export const runOnce = (probe: ProbeDeclaration, config: ProbeConfigInput = {}): Promise<ProbeRunResult> =>
  firstValueFrom(createProbeAdapter(config).run(probe));

export interface Loopback<S extends net.Server> {
  readonly server: S;
  readonly port: number;
  close(): Promise<void>;
}

export async function listen<S extends net.Server>(server: S): Promise<Loopback<S>> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const httpServer = (handler: http.RequestListener): Promise<Loopback<http.Server>> => listen(http.createServer(handler));

export interface SelfSigned {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A self-signed CA-capable certificate for 127.0.0.1. */
export async function selfSigned(): Promise<SelfSigned> {
  const webcrypto = crypto.webcrypto;
  x509.cryptoProvider.set(webcrypto as never);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: 'CN=127.0.0.1',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    keys: keys as never,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}

export async function httpsServer(tls: SelfSigned, handler: http.RequestListener): Promise<Loopback<https.Server>> {
  return listen(https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler));
}

export interface HostKey {
  /** Path of the (absent) private key; the runner reads `<path>.pub`. */
  readonly privatePath: string;
  sign(bytes: Uint8Array): string;
}

const sshString = (b: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
};

/** An ed25519 key whose OpenSSH public half is written to `<dir>/ssh_host_ed25519_key.pub`. */
export function hostKey(dir: string): HostKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]);
  const privatePath = path.join(dir, 'ssh_host_ed25519_key');
  fs.writeFileSync(`${privatePath}.pub`, `ssh-ed25519 ${blob.toString('base64')} root@web-01\n`);
  return { privatePath, sign: (bytes) => crypto.sign(null, bytes, privateKey).toString('base64') };
}

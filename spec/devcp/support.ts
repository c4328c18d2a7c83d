// Shared fixture for the dev CP specs: one CA and key pair per test file
// (key generation is the slow part), host keys, a started dev CP, the files
// an agent needs, the agent's own enrollment and HTTP client, and a raw
// HTTPS request for what the agent's client never sends.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { startDevCp, type DevCp, type DevCpOptions } from '../../src/devcp/dev-cp';
import { generateSigningKey, type SigningKey } from '../../src/devcp/keys';
import { createFleetCa, makeHostKey, type FleetCa, type HostKeyMaterial } from '../../src/devcp/pki';
import { enrollIfNeeded, type EnrollOutcome } from '../../src/io/enroll/enroll';
import { loadTlsMaterial } from '../../src/io/enroll/identity';
import { createCpClient, type CpClient } from '../../src/io/http/client';

export interface Keys {
  readonly ca: FleetCa;
  readonly ciReleaseKey: SigningKey;
  readonly orgRootKey: SigningKey;
  readonly web: HostKeyMaterial;
  readonly db: HostKeyMaterial;
}

let shared: Promise<Keys> | undefined;
export function keys(): Promise<Keys> {
  shared ??= (async () => ({
    ca: await createFleetCa({ nowMs: Date.now() }),
    ciReleaseKey: generateSigningKey(),
    orgRootKey: generateSigningKey(),
    web: makeHostKey(undefined, 'root@web-01'),
    db: makeHostKey(undefined, 'root@db-01'),
  }))();
  return shared;
}

const created: string[] = [];
/** A fresh directory under the OS temp dir, removed after the spec file. */
export const tempDir = (name: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nixfleet-devcp-${name}-`));
  created.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A dev CP for web-01 and db-01 with the shared keys. */
export async function startCp(k: Keys, extra: Partial<DevCpOptions> = {}): Promise<DevCp> {
  return startDevCp({
    hosts: [
      { name: 'web-01', pubkey: k.web.sshPublicLine },
      { name: 'db-01', pubkey: k.db.sshPublicLine },
    ],
    ca: k.ca,
    ciReleaseKey: k.ciReleaseKey,
    orgRootKey: k.orgRootKey,
    ...extra,
  });
}

export interface AgentFiles {
  readonly dir: string;
  readonly ca: string;
  readonly key: string;
  readonly token: string;
  readonly cert: string;
  readonly trust: string;
}

/** What the agent's flags point at: CA, host key (0600), token, cert path (not yet written), trust.json. */
export async function agentFiles(cp: DevCp, host: HostKeyMaterial, machineId: string): Promise<AgentFiles> {
  const dir = tempDir(machineId);
  const files = {
    dir,
    ca: path.join(dir, 'fleet-ca.pem'),
    key: path.join(dir, 'ssh_host_ed25519_key'),
    token: path.join(dir, 'token.json'),
    cert: path.join(dir, 'agent-cert.pem'),
    trust: path.join(dir, 'trust.json'),
  };
  fs.writeFileSync(files.ca, cp.caCertPem);
  fs.writeFileSync(files.key, host.openssh, { mode: 0o600 });
  fs.writeFileSync(files.trust, cp.trustJson);
  await cp.writeToken(machineId, files.token);
  return files;
}

export const enroll = (cp: DevCp, files: AgentFiles, machineId: string): Promise<EnrollOutcome> =>
  firstValueFrom(enrollIfNeeded({ controlPlaneUrl: cp.url, machineId, caFile: files.ca, clientCertFile: files.cert, clientKeyFile: files.key, bootstrapTokenFile: files.token }));

/** The agent's mTLS client after enrollment (identity read from the files, as the daemon does). */
export async function agentClient(cp: DevCp, files: AgentFiles): Promise<CpClient> {
  const tls = await firstValueFrom(loadTlsMaterial({ caFile: files.ca, clientCertFile: files.cert, clientKeyFile: files.key }));
  return createCpClient({ baseUrl: cp.url, tls });
}

/** Enroll `machineId` with a fresh token and return its client. */
export async function enrolled(cp: DevCp, host: HostKeyMaterial, machineId: string): Promise<{ client: CpClient; files: AgentFiles }> {
  const files = await agentFiles(cp, host, machineId);
  await enroll(cp, files, machineId);
  return { client: await agentClient(cp, files), files };
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  text(): string;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Client identity; none when absent. */
  readonly cert?: string;
  readonly key?: string;
}

/** One HTTPS request with exactly the given headers (for what the agent's client never sends). */
export function raw(cp: DevCp, req: RawRequest): Promise<RawAnswer> {
  const url = new URL(cp.url);
  return new Promise((resolve, reject) => {
    const r = https.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: req.headers ?? {},
        ca: cp.caCertPem,
        ...(req.cert !== undefined ? { cert: req.cert, key: req.key } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: () => body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Polls `cond` every few milliseconds until it holds (the bound only stops a hung spec). */
export async function until(cond: () => boolean, what: string, maxTurns = 4_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export const CLOSURE_A = '0a7xqzl1m3c5v8b2n4k6j9h1g3f5d7s9-nixos-system-web-01-26.05.20260510.1a2b3c4';
export const CLOSURE_B = '5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6';
export const CLOSURE_DB = '1b8yrzm2n4d6w9c3p5l7k0j2h4g6f8s0-nixos-system-db-01-26.05.20260517.9f8e7d6';

// The bed's system closures (systems.nix), built with real Nix into a store
// of the bed's own and pushed to a file:// binary cache signed with a key from
// `nix-store --generate-binary-cache-key`. One closure is signed by a second
// key the host does not trust. Built once per process and reused while the
// inputs are unchanged.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../../..');
/** Everything the bed writes on the host side; override with NIXFLEET_HOSTBED_DIR. */
export const BED_DIR = process.env['NIXFLEET_HOSTBED_DIR'] ?? '/var/tmp/nixfleet-hostbed';

/** What an operator fills in; everything else is the module's default (nix/agent-defaults.nix). */
export const OPERATOR = {
  controlPlaneUrl: 'https://127.0.0.1:8443',
  machineId: 'host-01',
  caCert: '/etc/nixfleet/agent/ca.pem',
  bootstrapTokenFile: '/etc/nixfleet/agent/bootstrap-token',
} as const;

export const SYSTEM_NAMES = ['gen1', 'gen2', 'gen2-agent', 'gen2-broken', 'untrusted'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

export interface Systems {
  readonly agent: string;
  readonly closures: Readonly<Record<SystemName, string>>;
  /** The signed file:// cache, on the host side. */
  readonly cacheDir: string;
  /** `name:base64` of the key the hosts trust. */
  readonly publicKey: string;
}

const INPUTS = ['spec/host/bed/systems.nix', 'spec/host/bed/switch-to-configuration.sh', 'nix/agent-service.nix', 'nix/agent-flags.nix', 'nix/agent-defaults.nix'];

const nixExpr = (): string => {
  const o = OPERATOR;
  return `let d = import ${REPO}/nix/agent-defaults.nix; in import ${REPO}/spec/host/bed/systems.nix { cfg = d // {
    controlPlaneUrl = "${o.controlPlaneUrl}"; machineId = "${o.machineId}";
    tls = d.tls // { caCert = "${o.caCert}"; }; bootstrapTokenFile = "${o.bootstrapTokenFile}"; }; }`;
};

const nix = (cmd: string, args: readonly string[]): string =>
  execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });

let memo: Systems | undefined;

export function buildSystems(): Systems {
  if (memo !== undefined) return memo;
  const hash = createHash('sha256');
  for (const f of INPUTS) hash.update(f).update(fs.readFileSync(path.join(REPO, f)));
  hash.update(nixExpr());
  const id = hash.digest('hex').slice(0, 16);
  const dir = path.join(BED_DIR, `systems-${id}`);
  const done = path.join(dir, 'systems.json');
  if (fs.existsSync(done)) return (memo = JSON.parse(fs.readFileSync(done, 'utf8')) as Systems);

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const store = path.join(BED_DIR, 'build-store');
  const cacheDir = path.join(dir, 'cache');
  const key = (name: string) => {
    const sk = path.join(dir, `${name}.sk`);
    const pk = path.join(dir, `${name}.pk`);
    nix('nix-store', ['--generate-binary-cache-key', name, sk, pk]);
    return { sk, pk: fs.readFileSync(pk, 'utf8').trim() };
  };
  const trusted = key('nixfleet-bed-1');
  const rogue = key('nixfleet-bed-rogue-1');

  // A store of the bed's own (`--store DIR`): builds in a chroot that sees
  // only the store, so the builder's /bin/sh and /usr come in as sandbox paths.
  const outPaths = JSON.parse(nix('nix-instantiate', ['--store', store, '--eval', '--strict', '--json', '-E', `builtins.mapAttrs (n: d: d.outPath) (${nixExpr()})`])) as Record<string, string>;
  nix('nix-build', ['--store', store, '--option', 'extra-sandbox-paths', '/bin /usr /lib /lib64', '--no-out-link', '-E', nixExpr()]);
  const copy = (sk: string, paths: string[]) =>
    nix('nix', ['--extra-experimental-features', 'nix-command', 'copy', '--from', store, '--to', `file://${cacheDir}?secret-key=${sk}`, ...paths]);
  // Trusted first: the agent package every closure shares is then signed by the trusted key.
  copy(trusted.sk, [outPaths['agent'] as string, ...SYSTEM_NAMES.filter((n) => n !== 'untrusted').map((n) => outPaths[n] as string)]);
  copy(rogue.sk, [outPaths['untrusted'] as string]);

  const systems: Systems = {
    agent: outPaths['agent'] as string,
    closures: Object.fromEntries(SYSTEM_NAMES.map((n) => [n, outPaths[n] as string])) as Record<SystemName, string>,
    cacheDir,
    publicKey: trusted.pk,
  };
  fs.writeFileSync(done, JSON.stringify(systems, null, 2));
  return (memo = systems);
}

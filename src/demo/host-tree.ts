// A NixOS or nix-darwin host in a temporary directory for the demo and the
// end-to-end specs: a store with fake closures, the system profile,
// /run/current-system, health-checks.json, and the stand-in tools of
// demo/host-tools on PATH. The real daemon runs against it with
// `--host-root <root>` and this env (which names the tree's activation
// backend: on macOS the daemon would pick the darwin one itself).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { NIX_BASE32 } from '../codecs/store-path';
import { ACTIVATION_BACKEND_ENV, type ActivationBackendName } from '../io/activation';

/** Where the stand-in tools live (shipped beside dist/). */
export const HOST_TOOLS_DIR = path.resolve(__dirname, '../../demo/host-tools');
// A darwin host has no systemd: its closures carry their own activate script.
const TOOLS: Record<ActivationBackendName, readonly string[]> = { nixos: ['nix-store', 'nix-env', 'systemctl', 'systemd-run'], darwin: ['nix-store', 'nix-env'] };

/** A valid-looking nix-base32 hash derived from a label (deterministic). */
export function fakeHash(label: string): string {
  const digest = crypto.createHash('sha256').update(label).digest();
  return [...digest.subarray(0, 32)].map((b) => NIX_BASE32[b % 32]).join('');
}

export class DemoHostTree {
  readonly store: string;
  readonly profile: string;
  readonly currentSystem: string;
  readonly bin: string;
  readonly healthChecks: string;

  constructor(
    readonly root: string,
    readonly platform: ActivationBackendName = 'nixos',
  ) {
    this.store = path.join(root, 'nix/store');
    this.profile = path.join(root, 'nix/var/nix/profiles/system');
    this.currentSystem = path.join(root, 'run/current-system');
    this.bin = path.join(root, 'bin');
    this.healthChecks = path.join(root, 'etc/nixfleet/agent/health-checks.json');
    for (const d of [this.store, path.dirname(this.profile), path.join(root, 'run/nixos'), path.join(root, 'var/log'), this.bin, path.dirname(this.healthChecks), path.join(root, 'behaviour'), path.join(root, 'units')])
      fs.mkdirSync(d, { recursive: true });
    for (const tool of TOOLS[platform]) {
      fs.copyFileSync(path.join(HOST_TOOLS_DIR, tool), path.join(this.bin, tool));
      fs.chmodSync(path.join(this.bin, tool), 0o755);
    }
    fs.writeFileSync(path.join(root, 'calls.log'), '');
  }

  /**
   * A closure `<hash>-<name>` whose `etc/health` reads `health` ("ok" or
   * anything else): the demo's exec probe checks the running system's file.
   */
  closure(name: string, health = 'ok'): string {
    const basename = `${fakeHash(name)}-${name}`;
    if (this.platform === 'darwin') return this.darwinClosure(basename, health);
    const dir = path.join(this.store, basename);
    for (const d of ['bin', 'etc', 'etc/systemd/system', 'sw/lib/systemd']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.copyFileSync(path.join(HOST_TOOLS_DIR, 'switch-to-configuration'), path.join(dir, 'bin/switch-to-configuration'));
    fs.chmodSync(path.join(dir, 'bin/switch-to-configuration'), 0o755);
    fs.writeFileSync(path.join(dir, 'etc/health'), `${health}\n`);
    // Same kernel/systemd/dbus in every demo closure: a live switch is allowed.
    for (const [link, target] of [
      ['kernel', 'linux-6.6.1/bzImage'],
      ['sw/lib/systemd/systemd', 'systemd-255.1/lib/systemd/systemd'],
      ['etc/systemd/system/dbus.service', 'dbus-1.14.10/dbus.service'],
    ] as const) {
      const [label, ...rest] = target.split('/');
      const file = path.join(this.store, `${fakeHash(label ?? '')}-${label}`, ...rest);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (!fs.existsSync(file)) fs.writeFileSync(file, target);
      fs.symlinkSync(file, path.join(dir, link));
    }
    return basename;
  }

  /** nix-darwin's shape: `activate` and `activate-user` at the top of the closure. */
  private darwinClosure(basename: string, health: string): string {
    const dir = path.join(this.store, basename);
    fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
    for (const script of ['activate', 'activate-user']) {
      fs.copyFileSync(path.join(HOST_TOOLS_DIR, 'activate'), path.join(dir, script));
      fs.chmodSync(path.join(dir, script), 0o755);
    }
    fs.writeFileSync(path.join(dir, 'etc/health'), `${health}\n`);
    return basename;
  }

  /** Boots into `basename`: generation 1 of the profile and /run/current-system. */
  boot(basename: string): void {
    fs.symlinkSync(path.join(this.store, basename), `${this.profile}-1-link`);
    fs.symlinkSync('system-1-link', this.profile);
    fs.symlinkSync(path.join(this.store, basename), this.currentSystem);
  }

  current(): string | undefined {
    try {
      return path.basename(fs.readlinkSync(this.currentSystem));
    } catch {
      return undefined;
    }
  }

  /** One enforce exec probe: the running system's etc/health must say ok. */
  writeHealthChecks(intervalSeconds = 5): void {
    const probe = {
      kind: 'exec',
      mode: 'enforce',
      intervalSeconds,
      timeoutSecs: 5,
      command: ['/bin/sh', '-c', `grep -qx ok ${path.join(this.currentSystem, 'etc/health')}`],
    };
    fs.writeFileSync(this.healthChecks, JSON.stringify({ 'system-health': probe }, null, 2));
  }

  /** Environment for the daemon: the stand-ins first on PATH, and their tree root. */
  env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...base, PATH: `${this.bin}:${base['PATH'] ?? '/usr/bin:/bin'}`, HOST_TREE: this.root, [ACTIVATION_BACKEND_ENV]: this.platform };
  }
}

// A NixOS host in a temporary directory: a store with fake closures, the
// system profile and its generations, /run/current-system, the switch lock,
// and the stand-in tools of demo/host-tools wired in through the
// activation config. The real pipeline runs against it unchanged.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NIX_BASE32 } from '../../../src/codecs/store-path';
import { inheritedEnv } from '../../../src/io/process';
import type { ActivationConfigInput } from '../../../src/io/activation';
import type { Fields, Logger } from '../../../src/ports/logger';
import type { VerifiedDispatch } from '../../../src/ports/manifests';
import { fromEpochMillis } from '../../../src/codecs/timestamp';

// The stand-ins ship with the demo (demo/host-tools); the specs use the same scripts.
const FIXTURES = path.resolve(__dirname, '../../../demo/host-tools');
const TOOLS = ['nix-store', 'nix-env', 'systemctl', 'systemd-run'] as const;

/** A valid-looking nix-base32 hash derived from a label. */
export function fakeHash(label: string): string {
  const digest = crypto.createHash('sha256').update(label).digest();
  return [...digest.subarray(0, 32)].map((b) => NIX_BASE32[b % 32]).join('');
}

export interface ClosureParts {
  /** Label of the kernel store path `kernel` points at. */
  readonly kernel?: string;
  readonly systemd?: string;
  readonly dbus?: string;
}

export interface LoggedLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Fields | undefined;
}

export class HostTree {
  readonly root: string;
  readonly store: string;
  readonly profile: string;
  readonly currentSystem: string;
  readonly lock: string;
  readonly bin: string;
  readonly logs: LoggedLine[] = [];

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-host-'));
    this.store = path.join(this.root, 'nix/store');
    this.profile = path.join(this.root, 'nix/var/nix/profiles/system');
    this.currentSystem = path.join(this.root, 'run/current-system');
    this.lock = path.join(this.root, 'run/nixos/switch-to-configuration.lock');
    this.bin = path.join(this.root, 'bin');
    for (const d of [this.store, path.dirname(this.profile), path.dirname(this.lock), this.bin, path.join(this.root, 'behaviour'), path.join(this.root, 'units')])
      fs.mkdirSync(d, { recursive: true });
    for (const tool of TOOLS) {
      fs.copyFileSync(path.join(FIXTURES, tool), path.join(this.bin, tool));
      fs.chmodSync(path.join(this.bin, tool), 0o755);
    }
    fs.writeFileSync(path.join(this.root, 'calls.log'), '');
  }

  /** A store path with its own leaf file, e.g. a kernel image. */
  private component(label: string, file: string): string {
    const dir = path.join(this.store, `${fakeHash(label)}-${label}`);
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), label);
    return path.join(dir, file);
  }

  /** Creates a closure `<hash>-<name>` in the store; returns its basename. */
  closure(name: string, parts: ClosureParts = {}): string {
    const basename = `${fakeHash(name)}-${name}`;
    const dir = path.join(this.store, basename);
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'etc/systemd/system'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'sw/lib/systemd'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'switch-to-configuration'), path.join(dir, 'bin/switch-to-configuration'));
    fs.chmodSync(path.join(dir, 'bin/switch-to-configuration'), 0o755);
    fs.symlinkSync(this.component(parts.kernel ?? 'linux-6.6.1', 'bzImage'), path.join(dir, 'kernel'));
    fs.symlinkSync(this.component(parts.systemd ?? 'systemd-255.1', 'lib/systemd/systemd'), path.join(dir, 'sw/lib/systemd/systemd'));
    fs.symlinkSync(this.component(parts.dbus ?? 'dbus-1.14.10', 'dbus.service'), path.join(dir, 'etc/systemd/system/dbus.service'));
    return basename;
  }

  storePath(basename: string): string {
    return path.join(this.store, basename);
  }

  /** Boots the host into `basename`: generation 1 of the profile and /run/current-system. */
  boot(...generations: string[]): void {
    generations.forEach((g, i) => fs.symlinkSync(this.storePath(g), `${this.profile}-${i + 1}-link`));
    fs.symlinkSync(`system-${generations.length}-link`, this.profile);
    fs.symlinkSync(this.storePath(generations[generations.length - 1] ?? ''), this.currentSystem);
  }

  behave(marker: string, content = ''): void {
    fs.writeFileSync(path.join(this.root, 'behaviour', marker), content);
  }

  calls(): string[] {
    return fs
      .readFileSync(path.join(this.root, 'calls.log'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.split(this.root).join('$T'));
  }

  current(): string {
    return path.basename(fs.readlinkSync(this.currentSystem));
  }

  /** Basename the profile resolves to through its generation link. */
  profileTarget(): string {
    const hop = fs.readlinkSync(this.profile);
    return path.basename(fs.readlinkSync(path.join(path.dirname(this.profile), hop)));
  }

  bootEntry(): string | undefined {
    const f = path.join(this.root, 'boot/default');
    return fs.existsSync(f) ? path.basename(fs.readFileSync(f, 'utf8').trim()) : undefined;
  }

  readonly logger: Logger = {
    debug: (message, fields) => this.logs.push({ level: 'debug', message, fields }),
    info: (message, fields) => this.logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => this.logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => this.logs.push({ level: 'error', message, fields }),
  };

  config(extra: ActivationConfigInput = {}): ActivationConfigInput {
    return {
      storeDir: this.store,
      profile: this.profile,
      currentSystem: this.currentSystem,
      switchLock: this.lock,
      tools: {
        nixStore: path.join(this.bin, 'nix-store'),
        nixEnv: path.join(this.bin, 'nix-env'),
        systemdRun: path.join(this.bin, 'systemd-run'),
        systemctl: path.join(this.bin, 'systemctl'),
        flock: 'flock',
      },
      env: { ...inheritedEnv(), HOST_TREE: this.root },
      pollIntervalMs: 20,
      pollBudgetMs: 1_500,
      toolTimeoutMs: 10_000,
      bootTimeoutMs: 10_000,
      logger: this.logger,
      testMode: () => false,
      ...extra,
    };
  }

  /** Waits for detached stand-in units to finish (each writes its status last), then deletes the tree. */
  async remove(): Promise<void> {
    const units = path.join(this.root, 'units');
    const running = (): string[] =>
      fs
        .readdirSync(units)
        .filter((f) => f.endsWith('.started'))
        .filter((f) => !fs.existsSync(path.join(units, f.replace(/\.started$/, '.status'))));
    for (let i = 0; i < 500 && running().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** What the activation worker hands the adapter once the rollout's manifest verified `closure` for this host. */
export const signedFor = (closure: string, rolloutId = 'stable@abc123'): VerifiedDispatch => ({ rolloutId, targetClosure: closure, signedAt: fromEpochMillis(0) });

// Every path and tool the activation pipeline touches, so tests and the demo
// run the real pipeline against a host tree in a temporary directory
// (docs/activation-and-probes.md lists each option and its default).
import { asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import { DEFAULT_STORE_DIR } from '../../codecs/store-path';
import { silentLogger, type Logger } from '../../ports/logger';
import type { ProcessPort } from '../../ports/process';
import { createNodeProcessPort, inheritedEnv } from '../process';

export interface ActivationTools {
  readonly nixStore: string;
  readonly nixEnv: string;
  readonly systemdRun: string;
  readonly systemctl: string;
  readonly flock: string;
}

/** Which platform's backend fires switches (backends.ts). */
export type ActivationBackendName = 'nixos' | 'darwin';
export const ACTIVATION_BACKENDS: readonly ActivationBackendName[] = ['nixos', 'darwin'];

export interface ActivationConfig {
  /** Default: `darwin` on macOS, else `nixos` (upstream picks by target OS). */
  readonly backend: ActivationBackendName;
  /** darwin: where `activate` and `activate-user` append their output. */
  readonly activateLog: string;
  readonly storeDir: string;
  /** The system profile `nix-env --profile` sets (reference §11.2 step 3). */
  readonly profile: string;
  readonly currentSystem: string;
  /** Held by any running switch-to-configuration (reference §11.2 step 1). */
  readonly switchLock: string;
  readonly tools: ActivationTools;
  /** Transient unit names, without `.service`. */
  readonly switchUnit: string;
  readonly rollbackUnit: string;
  /** Verify poll (reference §11.6): 2 s interval, 300 s budget. */
  readonly pollIntervalMs: number;
  readonly pollBudgetMs: number;
  /** `nix-store --realise`; undefined = no limit (upstream has none). */
  readonly realiseTimeoutMs: number | undefined;
  /** flock, nix-env, systemctl, systemd-run: each returns quickly or something is wrong. */
  readonly toolTimeoutMs: number;
  /** The synchronous `switch-to-configuration boot` of a deferred activation. */
  readonly bootTimeoutMs: number;
  /** Environment of every tool process. */
  readonly env: Readonly<Record<string, string>>;
  /** Timers: the verify poll and every timeout. */
  readonly scheduler: SchedulerLike;
  readonly process: ProcessPort;
  readonly logger: Logger;
  /** Checked on every call, as upstream checks on every intent (reference §8.6). */
  readonly testMode: () => boolean;
  /**
   * Per call (set by the port, not configured): once a switch runs in its
   * own unit, waiting for it stops when this emits — the switch goes on
   * without the agent and a restart resumes the record.
   */
  readonly leaveRunningOn?: Observable<unknown>;
}

export type ActivationConfigInput = Partial<Omit<ActivationConfig, 'tools'>> & { readonly tools?: Partial<ActivationTools> };

export const ACTIVATION_TEST_MODE_ENV = 'NIXFLEET_AGENT_ACTIVATION_TEST_MODE';

export const DEFAULT_ACTIVATE_LOG = '/var/log/nixfleet-activate.log';

export const platformDefaultBackend = (platform: NodeJS.Platform = process.platform): ActivationBackendName => (platform === 'darwin' ? 'darwin' : 'nixos');

export const DEFAULT_TOOLS: ActivationTools = {
  nixStore: 'nix-store',
  nixEnv: 'nix-env',
  systemdRun: 'systemd-run',
  systemctl: 'systemctl',
  flock: 'flock',
};

export function activationConfig(input: ActivationConfigInput = {}): ActivationConfig {
  const scheduler = input.scheduler ?? asyncScheduler;
  const env = input.env ?? inheritedEnv();
  return {
    backend: input.backend ?? platformDefaultBackend(),
    activateLog: input.activateLog ?? DEFAULT_ACTIVATE_LOG,
    storeDir: input.storeDir ?? DEFAULT_STORE_DIR,
    profile: input.profile ?? '/nix/var/nix/profiles/system',
    currentSystem: input.currentSystem ?? '/run/current-system',
    switchLock: input.switchLock ?? '/run/nixos/switch-to-configuration.lock',
    tools: { ...DEFAULT_TOOLS, ...input.tools },
    switchUnit: input.switchUnit ?? 'nixfleet-switch',
    rollbackUnit: input.rollbackUnit ?? 'nixfleet-rollback',
    pollIntervalMs: input.pollIntervalMs ?? 2_000,
    pollBudgetMs: input.pollBudgetMs ?? 300_000,
    realiseTimeoutMs: 'realiseTimeoutMs' in input ? input.realiseTimeoutMs : 3_600_000,
    toolTimeoutMs: input.toolTimeoutMs ?? 60_000,
    bootTimeoutMs: input.bootTimeoutMs ?? 600_000,
    env,
    scheduler,
    process: input.process ?? createNodeProcessPort({ scheduler, env }),
    logger: input.logger ?? silentLogger,
    testMode: input.testMode ?? (() => process.env[ACTIVATION_TEST_MODE_ENV] !== undefined),
  };
}

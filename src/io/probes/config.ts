// Everything the probe adapter reads or bounds, configurable so the specs
// run the real runners against temporary files and loopback servers
// (docs/activation-and-probes.md lists each option and its default).
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { DEFAULT_HEALTH_CHECKS_PATH } from '../../codecs/health-checks';
import { silentLogger, type Logger } from '../../ports/logger';
import type { ProcessPort } from '../../ports/process';
import { proxySettingsFromEnv, type ProxySettings } from '../http/proxy-env';
import { createNodeProcessPort } from '../process';

export interface ProbeConfig {
  /** Upstream hard-codes this path (reference §8.7). */
  readonly healthChecksPath: string;
  readonly maxHealthChecksBytes: number;
  /** Private host key path; the evidence runner reads `<path>.pub` (reference §10.4 step 3). */
  readonly sshHostKeyFile: string;
  readonly maxEvidenceBytes: number;
  /** Body bytes searched for `bodyContains`. */
  readonly maxHttpBodyBytes: number;
  /** stderr bytes kept from an exec probe (the last three lines are reported). */
  readonly execStderrTailBytes: number;
  /** Environment of exec probes. Default: probeEnv() of the agent's (an allowlist, not all of it). */
  readonly env: Readonly<Record<string, string>>;
  /** Timeouts of every runner. */
  readonly scheduler: SchedulerLike;
  readonly process: ProcessPort;
  readonly logger: Logger;
  /** Checked on every `declarations()` call (reference §8.7 step 2). */
  readonly testMode: () => boolean;
  /** HTTP probes' proxies. Default: the process environment's (throws ProxyConfigError on one it cannot use). */
  readonly proxy: ProxySettings;
}

export type ProbeConfigInput = Partial<ProbeConfig>;

export const PROBE_TEST_MODE_ENV = 'NIXFLEET_AGENT_PROBE_TEST_MODE';
export const SSH_HOST_KEY_FILE_ENV = 'NIXFLEET_AGENT_SSH_HOST_KEY_FILE';
export const DEFAULT_SSH_HOST_KEY_FILE = '/etc/ssh/ssh_host_ed25519_key';

// What an exec probe may see of the agent's environment. Upstream's probes
// inherit all of it (tokio's default); the agent's may hold credentials
// (a CREDENTIALS_DIRECTORY, a cloud token, the bootstrap token's path), and a
// health check needs none of that. Kept: the tool search path, locale and
// time zone (LOCALE_ARCHIVE is how NixOS finds glibc locales), TMPDIR, and
// the fleet's own NIXFLEET_* variables (NIXFLEET_TAGS, set by the module) —
// but not NIXFLEET_AGENT_*, which configure the agent itself.
const PROBE_ENV_NAMES = new Set(['PATH', 'LANG', 'LANGUAGE', 'LOCALE_ARCHIVE', 'TZ', 'TZDIR', 'TMPDIR']);
const PROBE_ENV_PREFIXES = ['LC_', 'NIXFLEET_'];
const PROBE_ENV_EXCLUDED_PREFIXES = ['NIXFLEET_AGENT_'];

export function isProbeEnvName(name: string): boolean {
  if (PROBE_ENV_EXCLUDED_PREFIXES.some((p) => name.startsWith(p))) return false;
  return PROBE_ENV_NAMES.has(name) || PROBE_ENV_PREFIXES.some((p) => name.startsWith(p));
}

/** The allowlisted part of `source` (the agent's environment by default). */
export function probeEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && isProbeEnvName(k)) env[k] = v;
  return env;
}

export function probeConfig(input: ProbeConfigInput = {}): ProbeConfig {
  const scheduler = input.scheduler ?? asyncScheduler;
  const env = input.env ?? probeEnv();
  return {
    healthChecksPath: input.healthChecksPath ?? DEFAULT_HEALTH_CHECKS_PATH,
    maxHealthChecksBytes: input.maxHealthChecksBytes ?? 1024 * 1024,
    sshHostKeyFile: input.sshHostKeyFile ?? process.env[SSH_HOST_KEY_FILE_ENV] ?? DEFAULT_SSH_HOST_KEY_FILE,
    maxEvidenceBytes: input.maxEvidenceBytes ?? 16 * 1024 * 1024,
    maxHttpBodyBytes: input.maxHttpBodyBytes ?? 1024 * 1024,
    execStderrTailBytes: input.execStderrTailBytes ?? 16 * 1024,
    env,
    scheduler,
    process: input.process ?? createNodeProcessPort({ scheduler, env }),
    logger: input.logger ?? silentLogger,
    testMode: input.testMode ?? (() => process.env[PROBE_TEST_MODE_ENV] !== undefined),
    proxy: input.proxy ?? proxySettingsFromEnv(process.env),
  };
}

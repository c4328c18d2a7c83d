// The daemon's flags: upstream's, each with its environment variable and
// default (reference agent-runtime.md §2.1; flag wins over env), plus the
// host-only additions marked "ours". Parsed with commander; a bad value
// exits 2 with a message naming the flag, as upstream's clap does.
import { Command, InvalidArgumentError, Option } from 'commander';
import { TICK_INTERVAL_MS } from '../sources/advance-ticker';
import { HEARTBEAT_INTERVAL_MS } from '../sources/heartbeat';
import { MANIFEST_POLL_INTERVAL_MS } from '../sources/manifest-poll';
import { DRAIN_INTERVAL_MS } from '../sources/outbound-drain';
import { SUSTAINED_FAILURE_THRESHOLD_SECS } from '../reducer/tick';
import { humanSecs } from './help';

export const DEFAULT_STATE_DIR = '/var/lib/nixfleet-agent';
export const DEFAULT_SSH_HOST_KEY_FILE = '/etc/ssh/ssh_host_ed25519_key';
export const DEFAULT_FRESHNESS_WINDOW_SECS = 3600;

export interface AgentOptions {
  readonly controlPlaneUrl: string;
  readonly machineId: string;
  readonly trustFile: string;
  /** Required: the fleet CA alone is trusted, never the public roots. */
  readonly caCert: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly manifestFreshnessWindowSecs: number;
  readonly bootstrapTokenFile?: string;
  readonly stateDir: string;
  readonly sshHostKeyFile: string;
  readonly renewalThresholdFraction?: number;
  /** ours: Prometheus endpoint, `host:port` on loopback; off when absent. */
  readonly metricsListen?: string;
  /** ours */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** ours: `auto` = journald prefixes when stdout is the journal, else text. */
  readonly logFormat: 'auto' | 'text' | 'json' | 'journal';
  /**
   * ours: prefix for every host path the agent touches (/nix/store, the
   * system profile, /run/current-system, the switch lock, health-checks.json),
   * so tests and the demo run the real code against a host tree in a
   * temporary directory. `/` on a real host.
   */
  readonly hostRoot: string;
  /** ours: upstream hard-codes 120 s (its RFC says 60 s, from config). */
  readonly sustainedFailureThresholdSecs: number;
  /** ours: periods of the periodic workers, for tests and demos (`tick=1000,drain=2000`). */
  readonly workerPeriods: Readonly<Partial<Record<WorkerPeriod, number>>>;
  /** ours: accept an `http://` control plane (token and heartbeats in clear); never set by the NixOS module. */
  readonly insecureAllowPlainHttpForDevelopment?: true;
}

export const INSECURE_PLAIN_HTTP_FLAG = '--insecure-allow-plain-http-for-development';
export const INSECURE_PLAIN_HTTP_ENV = 'NIXFLEET_AGENT_INSECURE_ALLOW_PLAIN_HTTP_FOR_DEVELOPMENT';

export const WORKER_PERIODS = ['tick', 'heartbeat', 'manifestPoll', 'drain'] as const;
export type WorkerPeriod = (typeof WORKER_PERIODS)[number];

// Node's timers hold at most 2^31-1 ms; a longer delay fires after 1 ms, which
// would turn a mistyped period into a busy loop.
export const TIMER_MAX_MS = 2_147_483_647;

const periods = (v: string): Partial<Record<WorkerPeriod, number>> => {
  const out: Partial<Record<WorkerPeriod, number>> = {};
  for (const part of v.split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*(\w+)=(\d+)\s*$/.exec(part);
    const name = m?.[1] as WorkerPeriod | undefined;
    if (m === null || name === undefined || !WORKER_PERIODS.includes(name) || Number(m[2]) < 10 || Number(m[2]) > TIMER_MAX_MS) {
      throw new InvalidArgumentError(`expected ${WORKER_PERIODS.map((w) => `${w}=<ms>`).join(',')} (each from 10 to ${TIMER_MAX_MS}), got ${JSON.stringify(part)}`);
    }
    out[name] = Number(m[2]);
  }
  return out;
};

const u64 = (flag: string, min = 0) => (v: string): number => {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  if (Number(v) < min) throw new InvalidArgumentError(`${flag} must be at least ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
};

// Any number, as upstream's f64: one outside (0, 1) turns renewal off with an
// ERROR at start (src/sources/cert-renewal.ts), it does not stop the agent.
const fraction = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`must be a number (renewal runs strictly between 0 and 1), got ${JSON.stringify(v)}`);
  return n;
};

const url = (v: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${JSON.stringify(v)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new InvalidArgumentError(`must be an http(s) URL, got ${JSON.stringify(v)}`);
  return v.replace(/\/+$/, '');
};

const nonEmpty = (flag: string) => (v: string): string => {
  if (v.trim() === '') throw new InvalidArgumentError(`${flag} must not be empty`);
  return v;
};

const loopback = (v: string): string => {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(v);
  if (m === null || Number(m[2]) > 65535) throw new InvalidArgumentError(`must be a loopback host:port (127.0.0.1:9101), got ${JSON.stringify(v)}`);
  return v;
};

const UPSTREAM_PERIODS = `tick=${TICK_INTERVAL_MS},heartbeat=${HEARTBEAT_INTERVAL_MS},manifestPoll=${MANIFEST_POLL_INTERVAL_MS},drain=${DRAIN_INTERVAL_MS}`;

/** The daemon's options on `command` (upstream's flags first, then ours). */
export function addAgentOptions(command: Command): Command {
  const opt = (flags: string, description: string, env: string) => new Option(flags, description).env(env);
  return command
    .addOption(opt('--control-plane-url <url>', 'base URL of the control plane (https); required', 'NIXFLEET_AGENT_CP_URL').argParser(url))
    .addOption(opt('--machine-id <id>', "this host's identity (the CN of its certificate); required", 'NIXFLEET_AGENT_MACHINE_ID').argParser(nonEmpty('--machine-id')))
    .addOption(opt('--trust-file <path>', 'trust roots (trust.json); required', 'NIXFLEET_AGENT_TRUST_FILE'))
    .addOption(opt('--ca-cert <path>', "CA that signs the control plane's certificate; required", 'NIXFLEET_AGENT_CA_CERT'))
    .addOption(opt('--client-cert <path>', 'mTLS client certificate (written by enrollment when missing)', 'NIXFLEET_AGENT_CLIENT_CERT'))
    .addOption(opt('--client-key <path>', 'mTLS client key: the SSH ed25519 host key', 'NIXFLEET_AGENT_CLIENT_KEY'))
    .addOption(
      opt('--manifest-freshness-window-secs <secs>', 'maximum age of signed artifacts', 'NIXFLEET_AGENT_MANIFEST_FRESHNESS_WINDOW_SECS')
        .argParser(u64('--manifest-freshness-window-secs', 1)) // 0 would make every artifact stale
        .default(DEFAULT_FRESHNESS_WINDOW_SECS, humanSecs(DEFAULT_FRESHNESS_WINDOW_SECS)),
    )
    .addOption(opt('--bootstrap-token-file <path>', 'one-shot enrollment token, used only while the client certificate is missing', 'NIXFLEET_AGENT_BOOTSTRAP_TOKEN_FILE'))
    .addOption(opt('--state-dir <path>', 'state directory (database, manifest cache)', 'NIXFLEET_AGENT_STATE_DIR').default(DEFAULT_STATE_DIR))
    .addOption(opt('--ssh-host-key-file <path>', 'SSH host key that signs renewal CSRs', 'NIXFLEET_AGENT_SSH_HOST_KEY_FILE').default(DEFAULT_SSH_HOST_KEY_FILE))
    .addOption(opt('--renewal-threshold-fraction <f>', 'renew the certificate below this remaining fraction of its validity (0 < f < 1); unset disables renewal', 'NIXFLEET_AGENT_RENEWAL_THRESHOLD_FRACTION').argParser(fraction))
    .addOption(opt('--metrics-listen <host:port>', 'serve Prometheus metrics on this loopback address (ours)', 'NIXFLEET_AGENT_METRICS_LISTEN').argParser(loopback))
    .addOption(opt('--log-level <level>', 'lowest level logged (ours)', 'NIXFLEET_AGENT_LOG_LEVEL').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(opt('--log-format <format>', 'auto: journald priorities under systemd, else text (ours)', 'NIXFLEET_AGENT_LOG_FORMAT').choices(['auto', 'text', 'json', 'journal']).default('auto'))
    .addOption(opt('--host-root <dir>', 'prefix for every host path, for tests and demos (ours)', 'NIXFLEET_AGENT_HOST_ROOT').default('/'))
    .addOption(
      opt('--sustained-failure-threshold-secs <secs>', 'enforce-probe failure time that fails the soak (ours)', 'NIXFLEET_AGENT_SUSTAINED_FAILURE_THRESHOLD_SECS')
        .argParser(u64('--sustained-failure-threshold-secs'))
        .default(SUSTAINED_FAILURE_THRESHOLD_SECS, `${humanSecs(SUSTAINED_FAILURE_THRESHOLD_SECS)}, upstream's constant`),
    )
    .addOption(opt('--worker-periods <list>', 'periodic workers in ms, e.g. tick=1000,drain=2000 — tests and demos (ours)', 'NIXFLEET_AGENT_WORKER_PERIODS').argParser(periods).default({}, `upstream's, ${UPSTREAM_PERIODS}`))
    .addOption(opt(INSECURE_PLAIN_HTTP_FLAG, 'DEVELOPMENT ONLY: accept an http:// control plane; the bootstrap token and every report travel in clear (ours)', INSECURE_PLAIN_HTTP_ENV));
}

// Checked in the daemon's action rather than with commander's mandatory
// options, which would also demand them of `status` and `dev-cp`.
const REQUIRED = [
  ['controlPlaneUrl', '--control-plane-url <url>'],
  ['machineId', '--machine-id <id>'],
  ['trustFile', '--trust-file <path>'],
  ['caCert', '--ca-cert <path>'],
] as const;

const WHY: Partial<Record<(typeof REQUIRED)[number][0], string>> = {
  caCert: ": the agent trusts only the fleet CA that signs the control plane's certificate, never the public roots",
};

type LogLevel = AgentOptions['logLevel'];
const RUST_LEVELS: Readonly<Record<string, LogLevel>> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', error: 'error', off: 'error' };

/**
 * Upstream's agent filters its logs with `RUST_LOG` (tracing's EnvFilter).
 * Its global level — the last directive without a target, e.g. `debug` in
 * `hyper=warn,debug` — is honoured when neither `--log-level` nor
 * `NIXFLEET_AGENT_LOG_LEVEL` is given (`trace` reads as debug, `off` as
 * error); per-target directives and anything unparsable are ignored.
 */
export function rustLogLevel(value: string | undefined): LogLevel | undefined {
  const bare = (value ?? '').split(',').map((d) => d.trim().toLowerCase()).filter((d) => RUST_LEVELS[d] !== undefined);
  const last = bare[bare.length - 1];
  return last === undefined ? undefined : RUST_LEVELS[last];
}

/** The typed options of the parsed daemon command; a missing required flag or a plain-http CP is a usage error. */
export function agentOptionsOf(command: Command): AgentOptions {
  const opts = command.opts<Partial<AgentOptions> & { insecureAllowPlainHttpForDevelopment?: boolean }>();
  const usage = (message: string): never => command.error(message, { exitCode: 2, code: 'commander.invalidArgument' });
  for (const [key, flag] of REQUIRED) {
    if (opts[key] === undefined) command.error(`error: required option '${flag}' not specified${WHY[key] ?? ''}`, { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
  }
  // commander turns a boolean env var on whatever its value; `=0` must not open plain http.
  if (command.getOptionValueSource('insecureAllowPlainHttpForDevelopment') === 'env' && !/^(1|true)$/i.test(process.env[INSECURE_PLAIN_HTTP_ENV] ?? '')) {
    usage(`error: ${INSECURE_PLAIN_HTTP_ENV} must be 1 or true when set (unset it to refuse plain http), got ${JSON.stringify(process.env[INSECURE_PLAIN_HTTP_ENV])}`);
  }
  // Enrollment writes the issued certificate to --client-cert and proves the key of
  // --client-key; without either it would be skipped and every request after
  // it refused (401) forever, the token never used.
  if (opts.bootstrapTokenFile !== undefined) {
    for (const [key, flag] of [['clientCert', '--client-cert <path>'], ['clientKey', '--client-key <path>']] as const) {
      if (opts[key] === undefined) usage(`error: option '--bootstrap-token-file <path>' needs '${flag}': enrollment writes the certificate there and signs with that key`);
    }
  }
  const fromRustLog = command.getOptionValueSource('logLevel') === 'default' ? rustLogLevel(process.env['RUST_LOG']) : undefined;
  const { insecureAllowPlainHttpForDevelopment: allowHttp, ...parsed } = opts;
  const rest = fromRustLog === undefined ? parsed : { ...parsed, logLevel: fromRustLog };
  if (opts.controlPlaneUrl !== undefined && new URL(opts.controlPlaneUrl).protocol === 'http:' && allowHttp !== true) {
    usage(
      `error: option '--control-plane-url <url>' is plain http (${opts.controlPlaneUrl}): the bootstrap token and every report would travel in clear; ` +
        `use https, or ${INSECURE_PLAIN_HTTP_FLAG} against a development control plane`,
    );
  }
  return (allowHttp === true ? { ...rest, insecureAllowPlainHttpForDevelopment: true } : rest) as AgentOptions;
}

// `nixfleet-agent dev-cp …`: the development control plane as a process.
// It writes what an agent needs into its state directory (ca.pem,
// trust.json, a bootstrap token per declared host, the admin token), prints
// the URL and those paths, optionally opens a rollout, and runs until
// SIGTERM or SIGINT.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { asyncScheduler } from 'rxjs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { humanSecs, withHelp, type HelpSections } from '../cli/help';
import { fromEpochMillis } from '../codecs/timestamp';
import { escapeControl } from '../codecs/escape';
import { errorMessage } from '../ports/error-text';
import { createLogger } from '../io/log';
import type { ReleaseResult } from './ci';
import { DEVCP_DEFAULTS, startDevCp, type DevCp } from './dev-cp';
import { DEFAULT_CHANNEL, DEFAULT_SOAK_MINUTES, hostDeclProblem, type HostDecl } from './fleet';
import { readHostKeyFile } from './host-keys';
import { agentCommandLine, summaryText, type Summary } from './summary';
import { DEFAULT_TOKEN_TTL_SECS } from './tokens';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

interface Parsed {
  readonly port: number;
  readonly stateDir?: string;
  readonly host: readonly [string, string][];
  readonly channel: string;
  readonly release: readonly [string, string][];
  readonly onHealthFailure: 'halt' | 'rollback-and-halt';
  readonly soakMinutes: number;
  readonly cnSuffix: string;
  readonly bareCn: boolean;
  readonly certValiditySecs: number;
  readonly tokenTtlSecs: number;
  readonly emptyDatabase: boolean;
  readonly allowUnlistedNonces: boolean;
  readonly strict: boolean;
  readonly replanIntervalSecs: number;
  readonly resignIntervalSecs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly json: boolean;
}

const pair = (flag: string) => (v: string, acc: [string, string][] = []): [string, string][] => {
  const i = v.indexOf('=');
  if (i <= 0 || i === v.length - 1) throw new InvalidArgumentError(`${flag} expects NAME=VALUE, got ${JSON.stringify(v)}`);
  return [...acc, [v.slice(0, i), v.slice(i + 1)]];
};

const integer = (flag: string, min: number) => (v: string): number => {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
};

const minutes = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--soak-minutes must be a number >= 0, got ${JSON.stringify(v)}`);
  return n;
};

const DEV_CP_HELP: HelpSections = {
  examples: [
    [
      'A CP for one host, a rollout opened at start; it prints the agent command line',
      ['ssh-keygen -t ed25519 -N "" -f ./web-01', 'nixfleet-agent dev-cp --state-dir ./cp --host web-01=./web-01.pub \\', '  --release web-01=5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01'].join('\n'),
    ],
    ['The URL and files as one JSON line, for a script', 'nixfleet-agent dev-cp --state-dir ./cp --host web-01=./web-01.pub --json'],
  ],
  exitCodes: [
    [EXIT_OK, 'stopped by SIGTERM or SIGINT; or --help'],
    [EXIT_FAILURE, 'could not start: a --host key file that is not a key, an unusable state directory, a --release the fleet refuses; one line on stderr'],
    [EXIT_USAGE, 'usage error: an unknown flag or a bad value'],
  ],
};

function command(io: CliIo): Command {
  const secs = (n: number) => humanSecs(n);
  return withHelp(new Command('nixfleet-agent dev-cp'), DEV_CP_HELP)
    .description('Development control plane: HTTPS with mTLS on 127.0.0.1, its own fleet CA and CI release key, enrollment, dispatch, events.')
    .addOption(new Option('--port <n>', 'TCP port on 127.0.0.1').argParser(integer('--port', 0)).default(0, '0, any free port'))
    .addOption(new Option('--state-dir <dir>', 'keys, CA, trust.json, tokens and state').default(undefined, 'a new temporary directory'))
    .addOption(new Option('--host <name=file>', 'declare a host: its OpenSSH public key file (or host private key); repeatable').argParser(pair('--host')).default([], 'none'))
    .addOption(new Option('--channel <name>', 'channel of the declared hosts').default(DEFAULT_CHANNEL))
    .addOption(new Option('--release <host=closure>', 'open a rollout at start with this closure (store path basename); repeatable').argParser(pair('--release')).default([], 'none'))
    .addOption(new Option('--on-health-failure <policy>', 'policy of the rollout opened by --release').choices(['halt', 'rollback-and-halt']).default('rollback-and-halt'))
    .addOption(new Option('--soak-minutes <n>', 'soak of the rollout opened by --release (fractions allowed)').argParser(minutes).default(DEFAULT_SOAK_MINUTES, `${DEFAULT_SOAK_MINUTES} min`))
    .addOption(new Option('--cn-suffix <suffix>', 'issued certificates get CN agent-<host>.<suffix>').default('fleet.lab.internal'))
    .addOption(new Option('--bare-cn', 'issue certificates with the bare host name as CN').default(false))
    .addOption(new Option('--cert-validity-secs <n>', 'validity of issued agent certificates (>= 60)').argParser(integer('--cert-validity-secs', 60)).default(DEVCP_DEFAULTS.certValiditySecs, secs(DEVCP_DEFAULTS.certValiditySecs)))
    .addOption(new Option('--token-ttl-secs <n>', 'lifetime of the bootstrap tokens written at start').argParser(integer('--token-ttl-secs', 1)).default(DEFAULT_TOKEN_TTL_SECS, secs(DEFAULT_TOKEN_TTL_SECS)))
    .addOption(new Option('--empty-database', 'forget records, burnt nonces and the event log from a previous run (keys, CA and fleet stay)').default(false))
    .addOption(new Option('--allow-unlisted-nonces', 'accept valid tokens this CP did not mint (no nonce allowlist)').default(false))
    .addOption(new Option('--strict', 'answer 400 to requests without X-Nixfleet-Protocol (upstream --strict)').default(false))
    .addOption(new Option('--replan-interval-secs <n>', 're-offer Pending dispatches this often').argParser(integer('--replan-interval-secs', 1)).default(DEVCP_DEFAULTS.replanIntervalMs / 1000, secs(DEVCP_DEFAULTS.replanIntervalMs / 1000)))
    .addOption(new Option('--resign-interval-secs <n>', 're-sign fleet.resolved and manifests this often').argParser(integer('--resign-interval-secs', 1)).default(DEVCP_DEFAULTS.resignIntervalMs / 1000, secs(DEVCP_DEFAULTS.resignIntervalMs / 1000)))
    .addOption(new Option('--log-level <level>', 'lowest level logged (to stderr)').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(new Option('--json', 'print the URL and paths as one JSON line').default(false))
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

export interface StartedCli {
  readonly devCp: DevCp;
  readonly stateDir: string;
  readonly tokens: Readonly<Record<string, string>>;
  readonly rollout: ReleaseResult | undefined;
}

/** Parse, start, write tokens, print; the process-level wrapper waits for a signal. */
export async function startDevCpCli(args: readonly string[], io: CliIo): Promise<{ kind: 'exit'; code: number } | ({ kind: 'running' } & StartedCli)> {
  let opts: Parsed;
  try {
    const cmd = command(io);
    cmd.parse([...args], { from: 'user' });
    opts = cmd.opts<Parsed>();
  } catch (e) {
    if (e instanceof CommanderError) return { kind: 'exit', code: e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? EXIT_OK : EXIT_USAGE };
    throw e;
  }
  const logger = createLogger({ level: opts.logLevel, format: 'text', clock: () => fromEpochMillis(asyncScheduler.now()), write: (l) => io.stderr(`${l}\n`), name: 'nixfleet-dev-cp' });
  const fail = (e: unknown) => {
    // One line: a key parser's reason may carry a line break.
    io.stderr(`${escapeControl(`dev-cp: ${errorMessage(e)}`)}\n`);
    return { kind: 'exit' as const, code: EXIT_FAILURE };
  };
  // Every --host is checked before anything is written (not even a temp dir).
  const hosts: HostDecl[] = [];
  const privateKeys: Record<string, string | undefined> = {};
  for (const [name, file] of opts.host) {
    try {
      const key = await readHostKeyFile(file);
      const decl = { name, pubkey: key.pubkey, channel: opts.channel };
      const problem = hostDeclProblem(decl);
      if (problem !== undefined) throw new Error(problem);
      hosts.push(decl);
      privateKeys[name] = key.privateKeyFile;
    } catch (e) {
      return fail(new Error(`--host ${name}=${file}: ${errorMessage(e)}; nothing was written`, { cause: e }));
    }
  }
  try {
    const stateDir = opts.stateDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'nixfleet-dev-cp-')));
    const devCp = await startDevCp({
      hosts,
      stateDir,
      emptyDatabase: opts.emptyDatabase,
      port: opts.port,
      cnSuffix: opts.bareCn ? null : opts.cnSuffix,
      certValiditySecs: opts.certValiditySecs,
      requireNonceAllowlist: !opts.allowUnlistedNonces,
      strictVersion: opts.strict,
      replanIntervalMs: opts.replanIntervalSecs * 1000,
      resignIntervalMs: opts.resignIntervalSecs * 1000,
      logger,
    });
    const tokens: Record<string, string> = {};
    await fs.mkdir(path.join(stateDir, 'tokens'), { recursive: true, mode: 0o700 });
    for (const h of devCp.hosts()) {
      const file = path.join(stateDir, 'tokens', `${h.hostname}.json`);
      await devCp.writeToken(h.hostname, file, { ttlSecs: opts.tokenTtlSecs });
      tokens[h.hostname] = file;
    }
    let rollout: ReleaseResult | undefined;
    if (opts.release.length > 0) {
      try {
        rollout = devCp.release({ channel: opts.channel, closures: Object.fromEntries(opts.release), policy: opts.onHealthFailure, soakMinutes: opts.soakMinutes });
      } catch (e) {
        await devCp.close();
        throw e;
      }
    }
    const caCert = path.join(stateDir, 'ca.pem');
    const trust = path.join(stateDir, 'trust.json');
    const summary: Summary = {
      url: devCp.url,
      stateDir,
      caCert,
      trust,
      adminToken: devCp.files?.adminToken,
      tokens,
      agents: Object.fromEntries(
        Object.entries(tokens).map(([host, token]) => [host, agentCommandLine({ url: devCp.url, host, caCert, trust, token, clientKey: privateKeys[host], stateDir })]),
      ),
      ...(rollout !== undefined ? { rolloutId: rollout.rolloutId, rolloutHosts: rollout.hosts.map((x) => x.hostname) } : {}),
    };
    if (opts.json) {
      const { rolloutHosts: _hosts, ...json } = summary;
      io.stdout(JSON.stringify(json) + '\n');
    } else io.stdout(summaryText(summary));
    return { kind: 'running', devCp, stateDir, tokens, rollout };
  } catch (e) {
    return fail(e);
  }
}

export async function runDevCpCli(args: readonly string[]): Promise<number> {
  const started = await startDevCpCli(args, { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) });
  if (started.kind === 'exit') return started.code;
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await started.devCp.close();
  return EXIT_OK;
}

// The `nixfleet-agent` command line: the daemon (the default command, with
// upstream's flags), `status`, `dev-cp` and `help [command]`. Parsing never
// exits the process by itself; the entry point decides (so specs can parse
// in-process).
import { Command, CommanderError, Option } from 'commander';
import { withHelp, type HelpSections } from './help';
import { addAgentOptions, agentOptionsOf, DEFAULT_STATE_DIR, type AgentOptions } from './options';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** clap's usage-error status, which upstream's binary exits with for bad flags. */
export const EXIT_USAGE = 2;

export type Invocation =
  | { readonly kind: 'run'; readonly options: AgentOptions }
  | { readonly kind: 'status'; readonly stateDir: string; readonly json: boolean }
  | { readonly kind: 'export-queue'; readonly stateDir: string }
  | { readonly kind: 'dev-cp'; readonly args: readonly string[] }
  | { readonly kind: 'exit'; readonly code: number; readonly stdout: string; readonly stderr: string };

// The codes src/bin/nixfleet-agent.ts and src/daemon/run.ts return.
const AGENT_HELP: HelpSections = {
  examples: [
    [
      'First boot: enroll with a bootstrap token, then run until stopped',
      [
        'nixfleet-agent --control-plane-url https://cp.fleet.example:8443 \\',
        '  --machine-id web-01 --trust-file /etc/nixfleet/agent/trust.json \\',
        '  --ca-cert /etc/nixfleet/fleet-ca.pem \\',
        '  --client-cert /var/lib/nixfleet-agent/agent-cert.pem \\',
        '  --client-key /etc/ssh/ssh_host_ed25519_key \\',
        '  --bootstrap-token-file /run/secrets/bootstrap-token',
      ].join('\n'),
    ],
    ['Against a development control plane: `dev-cp` prints this line per host', 'nixfleet-agent help dev-cp'],
  ],
  exitCodes: [
    [EXIT_OK, 'stopped by SIGTERM or SIGINT (also when the 25 s drain deadline cut in-flight work short)'],
    [EXIT_FAILURE, 'start-up failed: the trust file, the CA, the state directory (another agent on it included), enrollment, the state store or the TLS material; one log line says which'],
    [EXIT_USAGE, 'usage error: an unknown flag, a bad value or a missing required flag'],
  ],
};

const STATUS_HELP: HelpSections = {
  examples: [
    ['What the agent on this host is doing', 'nixfleet-agent status'],
    ['The same for a script, from another state directory', 'nixfleet-agent status --state-dir /tmp/agent-state --json'],
  ],
  exitCodes: [
    [EXIT_OK, 'printed (also when the agent has not run in that directory yet)'],
    [EXIT_FAILURE, 'the state database cannot be read; one line on stderr names the file, why, and what to do'],
    [EXIT_USAGE, 'usage error'],
  ],
};

const EXPORT_QUEUE_HELP: HelpSections = {
  examples: [
    [
      'Going back to the Rust agent: stop this one, then hand over its queue',
      ['systemctl stop nixfleet-agent', 'nixfleet-agent export-queue --state-dir /var/lib/nixfleet-agent'].join('\n'),
    ],
  ],
  exitCodes: [
    [EXIT_OK, 'exported (also when there was nothing to export)'],
    [EXIT_FAILURE, 'an agent runs on the state directory, the database cannot be used, or a file cannot be written; one line on stderr says which'],
    [EXIT_USAGE, 'usage error'],
  ],
};

export function parseInvocation(argv: readonly string[], version: string): Invocation {
  let stdout = '';
  let stderr = '';
  let result: Invocation | undefined;
  const output = { writeOut: (s: string) => (stdout += s), writeErr: (s: string) => (stderr += s) };
  const program = withHelp(addAgentOptions(new Command('nixfleet-agent')), AGENT_HELP)
    .description('NixOS fleet host agent (TypeScript), wire-compatible with the nixfleet control plane')
    .version(version, '-V, --version')
    // `status --state-dir x`: the subcommand's own flag, not the daemon's.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput(output)
    .action((_opts, cmd: Command) => {
      result = { kind: 'run', options: agentOptionsOf(cmd) };
    });
  const status = withHelp(program.command('status'), STATUS_HELP)
    .description("print this host's agent state from the state directory (no network)")
    .addOption(new Option('--state-dir <path>', 'state directory').env('NIXFLEET_AGENT_STATE_DIR').default(DEFAULT_STATE_DIR))
    .option('--json', 'machine-readable output', false)
    .action((opts: { stateDir: string; json: boolean }) => {
      result = { kind: 'status', stateDir: opts.stateDir, json: opts.json };
    });
  const exportQueue = withHelp(program.command('export-queue'), EXPORT_QUEUE_HELP)
    .description("write this agent's undelivered events in the Rust agent's queue layout (run while the agent is stopped)")
    .addOption(new Option('--state-dir <path>', 'state directory').env('NIXFLEET_AGENT_STATE_DIR').default(DEFAULT_STATE_DIR))
    .action((opts: { stateDir: string }) => {
      result = { kind: 'export-queue', stateDir: opts.stateDir };
    });
  program
    .command('dev-cp')
    .description('run the development control plane (see `nixfleet-agent help dev-cp`)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action((args: string[]) => {
      result = { kind: 'dev-cp', args };
    });
  program
    .command('help')
    .description('show the help of the agent or of a command')
    .argument('[command]', 'status, export-queue or dev-cp')
    .action((name: string | undefined) => {
      // dev-cp's options live in its own module (loaded only when it runs).
      if (name === 'dev-cp') result = { kind: 'dev-cp', args: ['--help'] };
      else if (name === 'status') status.help();
      else if (name === 'export-queue') exportQueue.help();
      else if (name === undefined || name === 'help') program.help();
      else program.error(`error: unknown command '${name}' (try: nixfleet-agent help)`, { exitCode: EXIT_USAGE, code: 'commander.unknownCommand' });
    });
  // Subcommands must not require the daemon's mandatory flags.
  program.commands.forEach((c) => c.exitOverride().configureOutput(output));
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const informational = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      return { kind: 'exit', code: informational ? EXIT_OK : EXIT_USAGE, stdout, stderr };
    }
    throw err;
  }
  return result ?? { kind: 'exit', code: EXIT_USAGE, stdout, stderr: stderr || 'nothing to do\n' };
}

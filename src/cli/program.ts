// The `nixfleet-agent` command line: the daemon (the default command, with
// upstream's flags), `status`, and `dev-cp`. Parsing never exits the process
// by itself; the entry point decides (so specs can parse in-process).
import { Command, CommanderError } from 'commander';
import { addAgentOptions, agentOptionsOf, DEFAULT_STATE_DIR, type AgentOptions } from './options';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** clap's usage-error status, which upstream's binary exits with for bad flags. */
export const EXIT_USAGE = 2;

export type Invocation =
  | { readonly kind: 'run'; readonly options: AgentOptions }
  | { readonly kind: 'status'; readonly stateDir: string; readonly json: boolean }
  | { readonly kind: 'dev-cp'; readonly args: readonly string[] }
  | { readonly kind: 'exit'; readonly code: number; readonly stdout: string; readonly stderr: string };

export function parseInvocation(argv: readonly string[], version: string): Invocation {
  let stdout = '';
  let stderr = '';
  let result: Invocation | undefined;
  const program = addAgentOptions(new Command('nixfleet-agent'))
    .description('NixOS fleet host agent (TypeScript), wire-compatible with the nixfleet control plane')
    .version(version, '-V, --version')
    // `status --state-dir x`: the subcommand's own flag, not the daemon's.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) })
    .action((_opts, cmd: Command) => {
      result = { kind: 'run', options: agentOptionsOf(cmd) };
    });
  program
    .command('status')
    .description("print this host's agent state from the state directory (no network)")
    .option('--state-dir <path>', 'state directory', process.env['NIXFLEET_AGENT_STATE_DIR'] ?? DEFAULT_STATE_DIR)
    .option('--json', 'machine-readable output', false)
    .action((opts: { stateDir: string; json: boolean }) => {
      result = { kind: 'status', stateDir: opts.stateDir, json: opts.json };
    });
  program
    .command('dev-cp')
    .description('run the development control plane (see `nixfleet-agent dev-cp --help`)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action((args: string[]) => {
      result = { kind: 'dev-cp', args };
    });
  // Subcommands must not require the daemon's mandatory flags.
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) }));
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

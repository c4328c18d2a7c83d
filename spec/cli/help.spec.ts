// What an operator meets first: `help [command]`, and each command's --help
// with Examples and Exit codes, defaults as a person reads them, 80 columns.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { humanSecs } from '../../src/cli/help';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseInvocation, type Invocation } from '../../src/cli/program';
import * as daemon from '../../src/daemon/run';
import * as devcp from '../../src/devcp/cli';
import { startDevCpCli } from '../../src/devcp/cli';

const BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');

const helpText = (argv: string[]): string => {
  const r: Invocation = parseInvocation(argv, '9.9.9');
  expect(r).toMatchObject({ kind: 'exit', code: 0, stderr: '' });
  return r.kind === 'exit' ? r.stdout : '';
};

async function devCpHelp(): Promise<string> {
  const out: string[] = [];
  expect(await startDevCpCli(['--help'], { stdout: (s) => void out.push(s), stderr: (s) => void out.push(s) })).toEqual({ kind: 'exit', code: 0 });
  return out.join('');
}

/** The rows of the Exit codes section: code → text. */
function exitCodes(text: string): Map<number, string> {
  const section = text.split('\nExit codes:\n')[1] ?? '';
  return new Map([...section.matchAll(/^ {2}(\d) +(.*)$/gm)].map((m) => [Number(m[1]), m[2] ?? '']));
}

function expectReadable(text: string): void {
  for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  expect(text).not.toMatch(/undefined|\{\}|\[\]|default: false|default: "|choices: "/);
  expect(text).toContain('\nExamples:\n');
  expect(text).toMatch(/\nExamples:\n {2}\S.*\n {4}(nixfleet-agent|ssh-keygen) /);
}

describe('help', () => {
  it('`help`, `--help` and `help help` print the agent help: options, commands, examples, exit codes', () => {
    const text = helpText(['--help']);
    expect(helpText(['help'])).toBe(text);
    expect(helpText(['help', 'help'])).toBe(text);
    expectReadable(text);
    expect(text).toMatch(/Commands:\n(.*\n)* {2}help \[command\]/);
    // The daemon's codes as src/daemon/run.ts and src/bin return them.
    expect([daemon.EXIT_OK, daemon.EXIT_FAILURE, EXIT_USAGE]).toEqual([0, 1, 2]);
    const codes = exitCodes(text);
    expect([...codes.keys()]).toEqual([EXIT_OK, EXIT_FAILURE, EXIT_USAGE]);
    expect(codes.get(0)).toMatch(/SIGTERM or SIGINT/);
    expect(codes.get(1)).toMatch(/start-up failed/);
    expect(codes.get(2)).toMatch(/usage error/);
  });

  it('shows defaults in the units a person reads, never raw milliseconds or JSON', () => {
    const text = helpText(['--help']);
    expect(text).toMatch(/--manifest-freshness-window-secs <secs>\n +maximum age of signed artifacts\n +default: 3600 s \(1 h\)\n +env: NIXFLEET_AGENT_MANIFEST_FRESHNESS_WINDOW_SECS\n/);
    expect(text).toContain('default: 120 s (2 min)');
    expect(text).toContain('tick=5000,heartbeat=60000,manifestPoll=30000,drain=15000');
    expect(text).toContain('default: /var/lib/nixfleet-agent');
    expect(text).toContain('one of: debug, info, warn, error');
    expect(text).toContain('env: NIXFLEET_AGENT_INSECURE_ALLOW_PLAIN_HTTP_FOR_DEVELOPMENT');
  });

  it('`help status` is `status --help`, with its own examples and exit codes', () => {
    const text = helpText(['help', 'status']);
    expect(helpText(['status', '--help'])).toBe(text);
    expect(text).toMatch(/^Usage: nixfleet-agent status \[options\]/);
    expectReadable(text);
    expect(text).toContain('env: NIXFLEET_AGENT_STATE_DIR');
    expect([...exitCodes(text).keys()]).toEqual([0, 1, 2]);
    expect(exitCodes(text).get(1)).toMatch(/cannot be read/);
  });

  it('`help dev-cp` runs dev-cp --help: its options, examples and exit codes', async () => {
    expect(parseInvocation(['help', 'dev-cp'], '9.9.9')).toEqual({ kind: 'dev-cp', args: ['--help'] });
    const text = await devCpHelp();
    expect(text).toMatch(/^Usage: nixfleet-agent dev-cp \[options\]/);
    expectReadable(text);
    expect(text).toContain('default: 2592000 s (30 d)');
    expect(text).toContain('default: 3000 s (50 min)');
    expect(text).toContain('default: 86400 s (1 d)');
    expect(text).toContain('default: a new temporary directory');
    expect([devcp.EXIT_OK, devcp.EXIT_FAILURE, devcp.EXIT_USAGE]).toEqual([0, 1, 2]);
    expect([...exitCodes(text).keys()]).toEqual([0, 1, 2]);
  });

  it('the binary answers `help dev-cp` and `help status` with exit 0, `help nothing` with 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    const dev = run('help', 'dev-cp');
    expect(dev.status).toBe(0);
    expect(dev.stdout).toMatch(/^Usage: nixfleet-agent dev-cp/);
    expect(run('help', 'status').stdout).toMatch(/^Usage: nixfleet-agent status/);
    const bad = run('help', 'nothing');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error: unknown command 'nothing' (try: nixfleet-agent help)\n");
  });

  it.each([
    [3600, '3600 s (1 h)'],
    [120, '120 s (2 min)'],
    [90, '90 s'],
    [15, '15 s'],
    [86_400, '86400 s (1 d)'],
    [0, '0 s'],
  ])('humanSecs(%d) = %s', (secs, text) => {
    expect(humanSecs(secs)).toBe(text);
  });
});

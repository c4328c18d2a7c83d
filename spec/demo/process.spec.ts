// The built demo as a user runs it, stdout piped (not a terminal): it
// finishes, writes plain appended lines with no escape sequences, and
// removes its temporary directory at the end, on a signal and when its
// reader goes away; --keep keeps it and prints where. TMPDIR points at a directory of the spec's own.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const DEMO = path.resolve(__dirname, '../../dist/demo/main.js');
const TIMEOUT_MS = 150_000;

interface Run {
  readonly stdout: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves once stdout contains `text`. */
  readonly printed: (text: string) => Promise<void>;
  readonly signal: (s: NodeJS.Signals) => void;
  /** Stops reading stdout, as `| head` does. */
  readonly closeStdout: () => void;
}

function demo(tmp: string, ...args: string[]): Run {
  const child = spawn(process.execPath, [DEMO, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  const take = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiting.filter((x) => out.includes(x.text))) w.resolve();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return {
    stdout: () => out,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1)))),
    printed: (text) => new Promise((resolve) => (out.includes(text) ? resolve() : waiting.push({ text, resolve }))),
    signal: (s) => child.kill(s),
    closeStdout: () => child.stdout.destroy(),
  };
}

/** Pids whose command line mentions `text`. */
function processesNaming(text: string): string[] {
  return fs.readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

describe('the demo, stdout piped', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-spec-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(
    'runs both rollouts to the end in plain appended lines, then removes its temporary directory',
    async () => {
      const run = demo(tmp);
      const code = await run.exited;
      const out = run.stdout();
      expect({ code, tail: out.slice(-400) }).toEqual({ code: 0, tail: expect.stringContaining('Both rollouts ended as expected.') });
      expect(out).not.toContain('\x1b');
      expect(out).toMatch(/rollout 1: a good closure, 15 s soak: web-01=Converged mac-01=Converged\n/);
      expect(out).toMatch(/rollout 2: a closure whose enforce probe fails: web-01=Reverted mac-01=Reverted\n/);
      expect(out).toContain(`in ${tmp}${path.sep}nixfleet-demo-`);
      expect(fs.readdirSync(tmp)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it.each([
    ['SIGINT', 130, (run: Run) => run.signal('SIGINT')],
    ['SIGTERM', 143, (run: Run) => run.signal('SIGTERM')],
    ['the reader going away (`| head`)', 141, (run: Run) => run.closeStdout()],
  ] as const)(
    '%s mid-rollout: stops the agents, removes the directory, exits %i',
    async (_how, code, stop) => {
      const run = demo(tmp);
      await run.printed('rollout 1: a good closure');
      stop(run);
      expect(await run.exited).toBe(code);
      expect(fs.readdirSync(tmp)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    '--keep: the directory stays, with the host trees and agent state, and its path is printed',
    async () => {
      const run = demo(tmp, '--keep');
      await run.printed('checked in over mTLS');
      run.signal('SIGINT');
      expect(await run.exited).toBe(130);
      const [dir] = fs.readdirSync(tmp);
      const kept = path.join(tmp, dir ?? '');
      expect(run.stdout()).toContain(`kept the temporary directory: ${kept}\n`);
      expect(fs.readdirSync(path.join(kept, 'hosts')).sort()).toEqual(['mac-01', 'web-01']);
      expect(fs.existsSync(path.join(kept, 'hosts/web-01/state'))).toBe(true);
      // mac-01 is a nix-darwin host: its closures carry activate, its tree no systemd tools.
      expect(fs.readdirSync(path.join(kept, 'hosts/mac-01/root/bin')).sort()).toEqual(['nix-env', 'nix-store']);
      // The agents were stopped, not left running against it.
      expect(processesNaming(kept)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it('an unknown argument: usage on stderr, exit 2, no directory made', async () => {
    const run = demo(tmp, '--bogus');
    expect(await run.exited).toBe(2);
    expect(run.stdout()).toContain('unknown argument --bogus');
    expect(run.stdout()).toContain('usage: nixfleet-agent-demo [--keep]');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

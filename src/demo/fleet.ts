// A whole fleet on one machine: the development control plane in process,
// and one real daemon process per host, each against its own host tree in a
// temporary directory. The `npm start` demo and the end-to-end specs drive
// rollouts through it. Time is compressed through the daemon's flags
// (--worker-periods, --sustained-failure-threshold-secs) and the CP's soak,
// never by changing the state machine.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { firstValueFrom, timer } from 'rxjs';
import { makeHostKey } from '../devcp/pki';
import { startDevCp, type DevCp, type DevCpOptions } from '../devcp/dev-cp';
import { DemoHostTree } from './host-tree';

// The built entry point, from src/demo (specs) as from dist/demo (the demo).
export const AGENT_BIN = path.resolve(__dirname, '../../dist/bin/nixfleet-agent.js');

/** Compressed timings for demos and end-to-end runs (upstream: 5 s, 60 s, 30 s, 15 s, 120 s). */
export const FAST_TIMINGS = {
  workerPeriods: 'tick=500,heartbeat=3000,manifestPoll=3000,drain=1000',
  sustainedFailureThresholdSecs: 8,
};

export interface AgentLine {
  readonly at?: string;
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

// Log lines kept per agent for views and assertions; older ones are dropped.
const MAX_LINES = 5_000;

export class AgentProcess {
  readonly lines: AgentLine[] = [];
  queued = 0;
  delivered = 0;
  child: ChildProcess | undefined;
  exited: Promise<number | null> = Promise.resolve(null);
  private readonly listeners = new Set<(line: AgentLine) => void>();

  constructor(
    readonly host: string,
    readonly dir: string,
    readonly tree: DemoHostTree,
    /** The daemon's flags (benches reuse them). */
    readonly args: readonly string[],
    private readonly extraEnv: NodeJS.ProcessEnv,
    /** A command the daemon runs under (argv prefix), e.g. a namespace wrapper in the fault specs. */
    private readonly wrapper: readonly string[] = [],
  ) {}

  get stateDir(): string {
    return path.join(this.dir, 'state');
  }

  start(): void {
    const [command = process.execPath, ...argv] = [...this.wrapper, process.execPath, AGENT_BIN, ...this.args];
    const child = spawn(command, argv, { env: { ...this.tree.env(), ...this.extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal !== null ? -1 : null))));
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.take(text);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.take(JSON.stringify({ level: 'error', message: `stderr: ${chunk.toString().trim()}` })));
  }

  private take(text: string): void {
    let line: AgentLine;
    try {
      line = JSON.parse(text) as AgentLine;
    } catch {
      line = { level: 'info', message: text };
    }
    if (line.message === 'event queued') this.queued += 1;
    if (line.message === 'event delivered') this.delivered += 1;
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES);
    this.listeners.forEach((f) => f(line));
  }

  onLine(f: (line: AgentLine) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    return this.exited;
  }
}

export interface FleetOptions {
  readonly dir: string;
  readonly hosts: readonly string[];
  /** Hosts run as nix-darwin hosts (the darwin activation backend, closures with `activate`); the rest are NixOS. */
  readonly darwinHosts?: readonly string[];
  readonly cp?: Omit<DevCpOptions, 'hosts' | 'stateDir'>;
  /** Extra daemon flags (after the generated ones). */
  readonly agentArgs?: readonly string[];
  readonly agentEnv?: NodeJS.ProcessEnv;
  /** Per host: a command each daemon runs under (argv prefix, the daemon's own argv appended). */
  readonly agentWrapper?: (host: string, stateDir: string) => readonly string[];
  readonly logLevel?: 'debug' | 'info';
  /** The URL agents use for the CP (e.g. through a fault-injection proxy); default the CP's own. */
  readonly controlPlaneUrl?: (cpUrl: string) => string;
}

export class DemoFleet {
  private constructor(
    public cp: DevCp,
    readonly agents: ReadonlyMap<string, AgentProcess>,
    private readonly opts: FleetOptions,
    readonly good: ReadonlyMap<string, string>,
  ) {}

  /** Creates keys, host trees and the CP; agents are created but not started. */
  static async create(opts: FleetOptions): Promise<DemoFleet> {
    fs.mkdirSync(opts.dir, { recursive: true });
    const keys = new Map(opts.hosts.map((h) => [h, makeHostKey(undefined, `root@${h}`)]));
    const cp = await startDevCp({
      ...opts.cp,
      stateDir: path.join(opts.dir, 'cp'),
      hosts: opts.hosts.map((name) => ({ name, pubkey: keys.get(name)?.sshPublicLine ?? '' })),
    });
    const agents = new Map<string, AgentProcess>();
    const good = new Map<string, string>();
    for (const host of opts.hosts) {
      const dir = path.join(opts.dir, 'hosts', host);
      const darwin = opts.darwinHosts?.includes(host) === true;
      const tree = new DemoHostTree(path.join(dir, 'root'), darwin ? 'darwin' : 'nixos');
      const booted = tree.closure(`${darwin ? 'darwin' : 'nixos'}-system-${host}-v1`);
      tree.boot(booted);
      good.set(host, booted);
      tree.writeHealthChecks(5);
      const key = keys.get(host);
      const keyFile = path.join(tree.root, 'etc/ssh/ssh_host_ed25519_key');
      fs.mkdirSync(path.dirname(keyFile), { recursive: true });
      fs.writeFileSync(keyFile, key?.openssh ?? '', { mode: 0o600 });
      fs.writeFileSync(`${keyFile}.pub`, `${key?.sshPublicLine ?? ''}\n`);
      const trust = path.join(dir, 'trust.json');
      const ca = path.join(dir, 'fleet-ca.pem');
      fs.writeFileSync(trust, cp.trustJson);
      fs.writeFileSync(ca, cp.caCertPem);
      const token = path.join(dir, 'bootstrap-token.json');
      await cp.writeToken(host, token);
      const args = [
        '--control-plane-url', opts.controlPlaneUrl?.(cp.url) ?? cp.url,
        '--machine-id', host,
        '--trust-file', trust,
        '--ca-cert', ca,
        '--client-cert', path.join(dir, 'agent-cert.pem'),
        '--client-key', keyFile,
        '--bootstrap-token-file', token,
        '--state-dir', path.join(dir, 'state'),
        '--ssh-host-key-file', keyFile,
        '--host-root', tree.root,
        '--log-format', 'json',
        '--log-level', opts.logLevel ?? 'debug',
        '--worker-periods', FAST_TIMINGS.workerPeriods,
        '--sustained-failure-threshold-secs', String(FAST_TIMINGS.sustainedFailureThresholdSecs),
        ...(opts.agentArgs ?? []),
      ];
      agents.set(host, new AgentProcess(host, dir, tree, args, opts.agentEnv ?? {}, opts.agentWrapper?.(host, path.join(dir, 'state')) ?? []));
    }
    return new DemoFleet(cp, agents, opts, good);
  }

  agent(host: string): AgentProcess {
    const a = this.agents.get(host);
    if (a === undefined) throw new Error(`no agent ${host}`);
    return a;
  }

  startAgents(): void {
    this.agents.forEach((a) => a.start());
  }

  /** Stops the CP and starts it again on the same port and state directory. */
  async restartCp(options: { readonly emptyDatabase?: boolean } = {}): Promise<void> {
    const port = this.cp.port;
    await this.cp.close();
    this.cp = await startDevCp({ ...this.opts.cp, port, stateDir: path.join(this.opts.dir, 'cp'), ...(options.emptyDatabase === true ? { emptyDatabase: true } : {}) });
  }

  /** Polls `f` until it returns a value other than undefined. */
  async waitFor<T>(what: string, f: () => T | undefined, timeoutMs = 60_000, everyMs = 100): Promise<T> {
    const start = performance.now();
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await firstValueFrom(timer(everyMs));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop('SIGTERM')));
    await this.cp.close();
  }
}

// systemd 252 booted as PID 1 of a systemd-nspawn container, on a small tree
// of its own: `nspawn -D /` is refused on this machine kind, so the tree has
// symlinks usr/{bin,sbin,lib,lib64} onto the host's /usr (bound read-only), a
// copy of /etc with an empty /etc/systemd/system, and private /nix, /var and
// /run. No network but loopback. Commands run inside through
// `nsenter -t <PID 1> -a`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Bind {
  readonly from: string;
  readonly to: string;
}

export interface ExecResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Host config a copied /etc must not bring along: it would start services the bed does not want. */
const ETC_DROPPED = ['systemd/system', 'postgresql', 'redis', 'nginx', 'machine-id', 'os-release', 'fstab', 'nix'];

const EXEC_TIMEOUT_MS = 120_000;
const BOOT_TIMEOUT_MS = 60_000;
const POWEROFF_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const INSIDE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export class Container {
  private nspawn: ChildProcess | undefined;
  private pid1 = 0;

  private constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  get root(): string {
    return path.join(this.dir, 'root');
  }

  /** Lays out the tree under `dir`/root; nothing runs yet. */
  static create(name: string, dir: string): Container {
    const c = new Container(name, dir);
    const root = c.root;
    fs.mkdirSync(root, { recursive: true });
    for (const d of ['usr', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/lib', 'var/log', 'var/tmp', 'opt', 'nix/store', 'nix/var/nix/daemon-socket', 'nix/var/nix/profiles', 'boot']) {
      fs.mkdirSync(path.join(root, d), { recursive: true });
    }
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) fs.symlinkSync(`usr/${d}`, path.join(root, d));
    fs.cpSync('/etc', path.join(root, 'etc'), { recursive: true, verbatimSymlinks: true });
    for (const d of ETC_DROPPED) fs.rmSync(path.join(root, 'etc', d), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    fs.mkdirSync(path.join(root, 'etc/nix'), { recursive: true });
    // nspawn refuses a tree without os-release; the host's is a symlink into /usr.
    fs.copyFileSync('/usr/lib/os-release', path.join(root, 'etc/os-release'));
    return c;
  }

  /** Writes a file inside the tree (before or after boot: the tree is the container's root). */
  write(file: string, content: string, mode = 0o644): void {
    const p = path.join(this.root, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, { mode });
    fs.chmodSync(p, mode);
  }

  /** A symlink inside the tree; `target` is read inside the container. */
  link(target: string, file: string): void {
    const p = path.join(this.root, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.symlinkSync(target, p);
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.root, file), 'utf8');
  }

  exists(file: string): boolean {
    return fs.existsSync(path.join(this.root, file));
  }

  /** Boots systemd as the container's PID 1 and waits until start-up is done. */
  async boot(binds: readonly Bind[]): Promise<void> {
    const log = fs.openSync(path.join(this.dir, 'console.log'), 'a');
    const args = [
      '-D', this.root, '-b', '-M', this.name,
      '--private-network', '--register=no', '--keep-unit', '--console=passive',
      '--bind-ro=/usr',
      ...binds.map((b) => `--bind-ro=${b.from}:${b.to}`),
    ];
    this.nspawn = spawn('systemd-nspawn', args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while (this.pid1 === 0) {
      if (this.nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${this.nspawn.exitCode}:\n${fs.readFileSync(path.join(this.dir, 'console.log'), 'utf8')}`);
      if (Date.now() > deadline) throw new Error('container PID 1 did not appear');
      this.pid1 = findSystemd(this.nspawn.pid as number);
      await sleep(100);
    }
    // PID 1's bus socket appears a moment after PID 1 itself.
    for (;;) {
      const state = await this.execAsync(['systemctl', 'is-system-running', '--wait'], BOOT_TIMEOUT_MS);
      if (['running', 'degraded'].includes(state.stdout.trim())) return;
      if (Date.now() > deadline || !/Failed to connect to bus/.test(state.stderr)) throw new Error(`container did not finish booting: ${state.stdout}${state.stderr}`);
      await sleep(100);
    }
  }

  /** nsenter's arguments for running `argv` in all of PID 1's namespaces, at its root. */
  private inside(argv: readonly string[]): string[] {
    return ['-t', String(this.pid1), '-a', '--', ...argv];
  }

  /** Runs a command inside the container (all its namespaces, its root). */
  exec(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): ExecResult {
    const r = spawnSync('nsenter', this.inside(argv), {
      encoding: 'utf8',
      input: opts.input ?? '',
      timeout: opts.timeoutMs ?? EXEC_TIMEOUT_MS,
      env: INSIDE_ENV,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Like exec, without blocking the event loop (for long waits). */
  execAsync(argv: readonly string[], timeoutMs = EXEC_TIMEOUT_MS): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn('nsenter', this.inside(argv), { env: INSIDE_ENV });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  /** exec that must succeed; returns stdout. */
  run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = this.exec(argv, opts);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** A host-side PID of a process inside (for kill -STOP and the like). */
  hostPidOf(containerPid: number): number {
    const want = String(containerPid);
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
        const ns = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/) ?? [];
        if (ns.length > 1 && ns[ns.length - 1] === want && isDescendant(Number(p), this.pid1)) return Number(p);
      } catch {
        // the process ended while we looked
      }
    }
    throw new Error(`no host pid for container pid ${containerPid}`);
  }

  /** Powers the container off and removes its tree. */
  async destroy(keep = false): Promise<void> {
    const child = this.nspawn;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM'); // nspawn asks the container's systemd to power off
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), POWEROFF_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    if (!keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The container's systemd: the first descendant of nspawn whose NSpid ends in 1. */
function findSystemd(nspawnPid: number): number {
  const queue = childrenOf(nspawnPid);
  while (queue.length > 0) {
    const p = queue.shift() as number;
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      const ns = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/) ?? [];
      if (ns[ns.length - 1] === '1' && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'systemd') return p;
    } catch {
      continue;
    }
    queue.push(...childrenOf(p));
  }
  return 0;
}

function isDescendant(pid: number, ancestor: number): boolean {
  let p = pid;
  for (let i = 0; i < 64 && p > 1; i++) {
    if (p === ancestor) return true;
    try {
      p = Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      return false;
    }
  }
  return false;
}

// One real host: a booted container with real Nix (its own store, its own
// nix-daemon, substituting from the bed's signed file:// cache with
// require-sigs), a fresh SSH host key, the dev CP as a unit, and the agent
// installed the NixOS way — by the first generation's switch-to-configuration,
// which brings the agent's unit rendered from nix/agent-service.nix.
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { decodeJson } from '../../../src/codecs/decode';
import { checkSequence } from '../../../src/demo/sequence';
import { DbState, type EventRow } from '../../../src/devcp/persist';
import { Container, type ExecResult } from './container';
import { BED_DIR, buildSystems, OPERATOR, REPO, type SystemName, type Systems } from './systems';

export const AGENT = 'nixfleet-agent.service';
export const CP_UNIT = 'nixfleet-dev-cp.service';
const CHECKOUT = '/opt/nixfleet-agent';
const CACHE = '/var/cache/nixfleet-bed';
const CP_STATE = '/var/lib/nixfleet-dev-cp';
const CP_PORT = new URL(OPERATOR.controlPlaneUrl).port;
const PROFILE = '/nix/var/nix/profiles/system';

/** The probe the agent runs through every soak: the web service each generation ships. */
export const HEALTH_CHECKS = { web: { kind: 'http', mode: 'enforce', url: 'http://127.0.0.1:8080/', intervalSeconds: 1, timeoutSecs: 2 } };

export interface JournalLine {
  readonly priority: number;
  readonly message: string;
  readonly pid: number;
}

export interface UnitState {
  readonly ActiveState: string;
  readonly SubState: string;
  readonly Result: string;
  readonly MainPID: number;
  readonly NRestarts: number;
  readonly StatusText: string;
  readonly ExecMainStatus: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let counter = 0;

export class HostBed {
  private constructor(
    readonly c: Container,
    readonly systems: Systems,
  ) {}

  /**
   * Boots a fresh host, runs the CP once to get its CA, trust roots and the
   * host's token (placed where the operator's configuration points), then
   * leaves the CP stopped when `cpDown` and installs generation 1.
   */
  static async start(opts: { cpDown?: boolean; agentDropIn?: string } = {}): Promise<HostBed> {
    const systems = buildSystems();
    const name = `nfbed-${process.pid}-${++counter}`;
    const c = Container.create(name, path.join(BED_DIR, 'hosts', name));
    const bed = new HostBed(c, systems);
    try {
      await bed.setUp(opts);
    } catch (e) {
      await bed.destroy();
      throw e;
    }
    return bed;
  }

  private async setUp(opts: { cpDown?: boolean; agentDropIn?: string }): Promise<void> {
    const { c, systems } = this;
    c.write('etc/nix/nix.conf', [
      'build-users-group =',
      'sandbox = false',
      `substituters = file://${CACHE}`,
      `trusted-public-keys = ${systems.publicKey}`,
      'require-sigs = true',
      '',
    ].join('\n'));
    c.link('/usr/lib/systemd/system/nix-daemon.socket', 'etc/systemd/system/sockets.target.wants/nix-daemon.socket');
    c.write(`etc/systemd/system/${CP_UNIT}`, [
      '[Unit]',
      'Description=nixfleet development control plane (test bed)',
      '[Service]',
      `ExecStart=/usr/bin/node ${CHECKOUT}/dist/bin/nixfleet-agent.js dev-cp --port ${CP_PORT} --state-dir ${CP_STATE} --host ${OPERATOR.machineId}=/etc/ssh/ssh_host_ed25519_key.pub --replan-interval-secs 1`,
      '',
    ].join('\n'));
    // Loopback is the bed's only network: nothing to wait for before network-online.target.
    c.link('/dev/null', 'etc/systemd/system/systemd-networkd-wait-online.service');
    c.write('etc/nixfleet/agent/health-checks.json', JSON.stringify(HEALTH_CHECKS));
    if (opts.agentDropIn !== undefined) c.write(`etc/systemd/system/${AGENT}.d/bed.conf`, opts.agentDropIn);
    await c.boot([
      { from: REPO, to: CHECKOUT },
      { from: systems.cacheDir, to: CACHE },
    ]);
    c.run(['systemd-analyze', 'log-level', 'debug']); // PID 1 then logs every sd_notify message
    c.run(['rm', '-f', '/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_ed25519_key.pub']);
    c.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/ssh_host_ed25519_key']);

    await this.startCp();
    c.run(['install', '-m', '0644', `${CP_STATE}/ca.pem`, OPERATOR.caCert]);
    c.run(['install', '-m', '0644', `${CP_STATE}/trust.json`, '/etc/nixfleet/agent/trust.json']);
    c.run(['install', '-m', '0600', `${CP_STATE}/tokens/${OPERATOR.machineId}.json`, OPERATOR.bootstrapTokenFile]);
    if (opts.cpDown === true) this.stopCp();

    this.install('gen1');
  }

  /** `start`, then wait until the agent's unit is active (enrolled and running). */
  static async running(opts: { agentDropIn?: string } = {}): Promise<HostBed> {
    const bed = await HostBed.start(opts);
    try {
      await bed.waitFor('the agent to be active', () => (bed.unit(AGENT).ActiveState === 'active' ? true : undefined));
    } catch (e) {
      await bed.destroy();
      throw e;
    }
    return bed;
  }

  async startCp(): Promise<void> {
    this.c.run(['systemctl', 'start', CP_UNIT]);
    await this.waitFor('the dev CP to answer', () => (this.c.exec(['curl', '-sfk', `https://127.0.0.1:${CP_PORT}/healthz`]).status === 0 ? true : undefined), 30_000);
  }

  stopCp(): void {
    this.c.run(['systemctl', 'stop', CP_UNIT]);
  }

  /** First install of a generation, by hand, as nixos-install would: realise, profile, switch. */
  install(gen: SystemName): void {
    const p = this.systems.closures[gen];
    this.c.run(['nix-store', '--realise', p]);
    this.c.run(['nix-env', '--profile', PROFILE, '--set', p]);
    this.c.run([`${p}/bin/switch-to-configuration`, 'switch']);
  }

  /** Opens a rollout of `gen` for the host through the CP's admin route; returns its id. */
  release(gen: SystemName, opts: { soakMinutes?: number; policy?: 'halt' | 'rollback-and-halt' } = {}): string {
    const admin = this.c.read(`${CP_STATE}/admin-token`).trim();
    const body = JSON.stringify({ closures: { [OPERATOR.machineId]: path.basename(this.systems.closures[gen]) }, soakMinutes: opts.soakMinutes ?? 0.25, onHealthFailure: opts.policy ?? 'rollback-and-halt' });
    const out = this.c.run(['curl', '-sSf', '--cacert', OPERATOR.caCert, '-H', `Authorization: Bearer ${admin}`, '-H', 'content-type: application/json', '--data-binary', '@-', `https://127.0.0.1:${CP_PORT}/dev/admin/release`], { input: body });
    return (JSON.parse(out) as { rolloutId: string }).rolloutId;
  }

  /** The CP's database as it last wrote it. */
  cpDb(): DbState {
    const d = decodeJson(DbState, this.c.read(`${CP_STATE}/db.json`));
    if (E.isLeft(d)) throw new Error(`db.json: ${JSON.stringify(d.left)}`);
    return d.right;
  }

  /** Events the CP holds for the host in `rolloutId`. */
  cpEvents(rolloutId: string): EventRow[] {
    return this.c.exists(`${CP_STATE}/db.json`) ? this.cpDb().eventLog.filter((e) => e.rolloutId === rolloutId && e.host === OPERATOR.machineId) : [];
  }

  /** `kind#seq` of what the CP applied, after checking: every seq once, contiguous from 1, none rejected. */
  received(rolloutId: string): string[] {
    const check = checkSequence(this.cpEvents(rolloutId));
    if (!check.ok) throw new Error(`${rolloutId}: ${check.problems.join('; ')} — ${check.kinds.join(' ')}`);
    return [...check.kinds];
  }

  /** The CP's record of the host in `rolloutId`. */
  cpState(rolloutId: string): string | undefined {
    if (!this.c.exists(`${CP_STATE}/db.json`)) return undefined;
    const rec = Object.values(this.cpDb().records).find((r) => r.rolloutId === rolloutId && r.hostname === OPERATOR.machineId);
    return rec?.state;
  }

  async waitState(rolloutId: string, state: string, timeoutMs = 120_000): Promise<void> {
    await this.waitFor(`${OPERATOR.machineId} ${state} in ${rolloutId}`, () => (this.cpState(rolloutId) === state ? true : undefined), timeoutMs);
  }

  unit(name: string): UnitState {
    const props = ['ActiveState', 'SubState', 'Result', 'MainPID', 'NRestarts', 'StatusText', 'ExecMainStatus'];
    const out = this.c.run(['systemctl', 'show', `--property=${props.join(',')}`, name]);
    const kv = Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return {
      ActiveState: kv['ActiveState'] ?? '',
      SubState: kv['SubState'] ?? '',
      Result: kv['Result'] ?? '',
      MainPID: Number(kv['MainPID'] ?? 0),
      NRestarts: Number(kv['NRestarts'] ?? 0),
      StatusText: kv['StatusText'] ?? '',
      ExecMainStatus: Number(kv['ExecMainStatus'] ?? 0),
    };
  }

  /** The journal of a unit (or of PID 1 with `unit` = undefined and a grep), oldest first. */
  journal(unit: string | undefined, grep?: string): JournalLine[] {
    return this.journalOf([...(unit !== undefined ? ['-u', unit] : ['_PID=1']), ...(grep !== undefined ? ['-g', grep] : [])]);
  }

  private journalOf(filter: readonly string[]): JournalLine[] {
    const r = this.c.exec(['journalctl', '--no-pager', '-o', 'json', ...filter]);
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((j) => ({ priority: Number(j['PRIORITY']), message: typeof j['MESSAGE'] === 'string' ? j['MESSAGE'] : Buffer.from(j['MESSAGE'] as number[]).toString('utf8'), pid: Number(j['_PID'] ?? 0) }));
  }

  /**
   * Lines the agent itself wrote, by its syslog identifier: on this machine
   * kind's hybrid cgroups journald sometimes misses the unit of a freshly
   * restarted process, so `-u` would drop its first lines.
   */
  agentLines(): JournalLine[] {
    return this.journalOf(['-t', 'nixfleet-agent']);
  }

  /** What switch-to-configuration said while running in `unit` (all runs, oldest first). */
  switchLog(unit: string): string[] {
    const r = this.c.exec(['cat', '/run/nixos/switch.log']);
    const prefix = `${unit}: `;
    return r.stdout.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  }

  /** The system profile: its newest generation number and the closure it names. */
  profile(): { generation: number; closure: string } {
    const link = this.c.run(['readlink', PROFILE]).trim();
    const generation = Number(/^system-(\d+)-link$/.exec(link)?.[1] ?? NaN);
    return { generation, closure: this.c.run(['readlink', `/nix/var/nix/profiles/${link}`]).trim() };
  }

  currentSystem(): string {
    return this.c.run(['readlink', '/run/current-system']).trim();
  }

  async waitFor<T>(what: string, f: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.explain()}`);
      await sleep(250);
    }
  }

  /** What a failed wait shows: the agent's last lines and its unit. */
  explain(): string {
    const tail = this.journal(AGENT).slice(-40).map((l) => `  ${l.priority} ${l.message}`);
    return [`${AGENT}: ${JSON.stringify(this.unit(AGENT))}`, ...tail].join('\n');
  }

  exec(argv: readonly string[]): ExecResult {
    return this.c.exec(argv);
  }

  async destroy(): Promise<void> {
    await this.c.destroy(process.env['NIXFLEET_HOSTBED_KEEP'] === '1');
  }
}

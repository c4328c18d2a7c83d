// A fleet of in-memory agents in virtual time: N agent graphs on the
// in-memory ports, one dev-CP mirror as their control plane, one
// VirtualClock for all. A harness opens rollouts on the mirror and advances
// the clock; nothing waits on the wall clock, so a whole rollout of many
// hosts runs in milliseconds and every run is the same.
import type { OnHealthFailure } from '../codecs/scalars';
import type { HostState } from '../codecs/scalars';
import { silentLogger, type Logger } from '../ports/logger';
import type { ManifestSet } from '../ports/manifests';
import type { ProbeDeclaration, ProbeRunResult } from '../ports/probes';
import type { OutboundQueuePort } from '../ports/store';
import { createAgentGraph, DRAIN_DEADLINE_MS, type AgentGraph, type AgentGraphConfig, type StopResult } from '../streams';
import type { ControlPlanePort } from '../ports/control-plane';
import type { SchedulerLike } from 'rxjs';
import { FakeActivation, FakeCert, FakeHost, FakeManifests, FakeProbes, manifestSet, policyOf } from './fakes';
import { MemoryQueue } from './memory-queue';
import { MirrorCp, SharedMirror } from './mirror';
import { VirtualClock } from './virtual-clock';

export interface InMemoryPorts {
  readonly cp: ControlPlanePort;
  readonly manifests: FakeManifests;
  readonly activation: FakeActivation;
  readonly probes: FakeProbes;
  readonly host: FakeHost;
  readonly cert: FakeCert;
  readonly queue: OutboundQueuePort;
}

export interface InMemoryPortOptions {
  readonly manifests?: ManifestSet;
  readonly probes?: readonly ProbeDeclaration[];
  readonly queue?: OutboundQueuePort;
  /** A switch or a rollback takes this long; default 10 s. */
  readonly activationMs?: number;
  /** What the host runs at first; default `prior-closure`. */
  readonly closure?: string;
}

/** One agent's ports around `cp`: activations move what the host runs, probes pass, every dispatch verifies. */
export function inMemoryPorts(scheduler: SchedulerLike, cp: ControlPlanePort, o: InMemoryPortOptions = {}): InMemoryPorts {
  const host = new FakeHost(o.closure ?? 'prior-closure');
  const activation = new FakeActivation(scheduler, host);
  activation.durationMs = o.activationMs ?? 10_000;
  return {
    cp,
    manifests: new FakeManifests(o.manifests ?? manifestSet()),
    activation,
    probes: new FakeProbes(scheduler, o.probes ?? []),
    host,
    cert: new FakeCert(),
    queue: o.queue ?? new MemoryQueue(),
  };
}

export interface ProbeRun {
  readonly host: string;
  readonly probe: string;
  /** What the host runs when the probe runs. */
  readonly closure: string | undefined;
  readonly atMs: number;
}

export interface FleetOptions {
  /** Machine ids. */
  readonly hosts: readonly string[];
  /** Every host's health probes; default none. */
  readonly probes?: readonly ProbeDeclaration[];
  /** A probe run's result; default pass. */
  readonly probeResult?: (run: ProbeRun) => ProbeRunResult;
  /** The signed policy's onHealthFailure; default `rollback-and-halt`. */
  readonly onHealthFailure?: OnHealthFailure;
  /** Default `stable`. */
  readonly channel?: string;
  /** What each host runs before any rollout; default `<host>-initial`. */
  readonly initialClosure?: (host: string) => string;
  readonly activationMs?: number;
  /** Default silent. */
  readonly logger?: (host: string) => Logger;
  /** Default a MemoryQueue per host. */
  readonly queue?: (host: string) => OutboundQueuePort;
  /** The graph's config beyond its machine id (periods, thresholds). */
  readonly config?: Omit<AgentGraphConfig, 'machineId'>;
  readonly clock?: VirtualClock;
  readonly mirror?: SharedMirror;
}

export interface FleetAgent {
  readonly graph: AgentGraph;
  readonly ports: InMemoryPorts;
}

export interface VirtualFleet {
  readonly clock: VirtualClock;
  readonly mirror: SharedMirror;
  readonly agents: ReadonlyMap<string, FleetAgent>;
  /** Starts every graph (idempotent). */
  start(): void;
  /** Opens a rollout on the mirror: host → closure, soak in minutes (default 1, fractions allowed). */
  release(closures: Readonly<Record<string, string>>, options?: { readonly soakMinutes?: number }): { readonly rolloutId: string };
  /** Advances virtual time by `ms`, running every timer due on the way. */
  runFor(ms: number): void;
  /** Advances in 1 s steps until `done()` holds (true) or `limitMs` of virtual time have passed (false). */
  runUntil(done: () => boolean, limitMs?: number): boolean;
  /** The mirror's state of each host of the rollout. */
  states(rolloutId: string): Record<string, HostState>;
  /** Hosts of the rollout in `state`, as the mirror sees them. */
  count(rolloutId: string, state: HostState): number;
  /**
   * Stops every graph and runs the clock until each has stopped: bounded,
   * since a stopped graph ends its in-flight work within DRAIN_DEADLINE_MS
   * (a running graph always has a timer due, so "run until nothing is due"
   * would never return). Returns how each stopped.
   */
  flush(): Record<string, StopResult>;
}

/** Builds the fleet; nothing runs until `start()` and the clock is advanced. */
export function virtualFleet(o: FleetOptions): VirtualFleet {
  const clock = o.clock ?? new VirtualClock(0);
  const mirror = o.mirror ?? new SharedMirror(clock);
  const channel = o.channel ?? 'stable';
  const onHealthFailure = o.onHealthFailure ?? 'rollback-and-halt';
  const set = manifestSet(onHealthFailure, channel);
  const agents = new Map<string, FleetAgent>();
  for (const name of o.hosts) {
    const ports = inMemoryPorts(clock, new MirrorCp(clock, mirror, name), {
      manifests: set,
      probes: o.probes ?? [],
      ...(o.queue !== undefined ? { queue: o.queue(name) } : {}),
      ...(o.activationMs !== undefined ? { activationMs: o.activationMs } : {}),
      closure: o.initialClosure?.(name) ?? `${name}-initial`,
    });
    const result = o.probeResult;
    if (result !== undefined) ports.probes.result = (probe, atMs) => result({ host: name, probe, closure: ports.host.closure, atMs });
    const graph = createAgentGraph({ ports, config: { ...o.config, machineId: name }, scheduler: clock, logger: o.logger?.(name) ?? silentLogger });
    agents.set(name, { graph, ports });
  }
  let rollouts = 0;
  const records = (rolloutId: string) => [...mirror.all()].filter((r) => r.rolloutId === rolloutId);
  return {
    clock,
    mirror,
    agents,
    start: () => agents.forEach((a) => a.graph.start()),
    release(closures, options = {}) {
      const rolloutId = `${channel}@r${++rollouts}`;
      const soakMinutes = options.soakMinutes ?? 1;
      mirror.open(rolloutId, channel, policyOf(onHealthFailure), Object.entries(closures).map(([hostname, targetClosure]) => ({ hostname, targetClosure, soakMinutes })));
      return { rolloutId };
    },
    runFor: (ms) => clock.runUntil(clock.now() + ms),
    runUntil(done, limitMs = 3_600_000) {
      const end = clock.now() + limitMs;
      while (!done()) {
        if (clock.now() >= end) return false;
        clock.runUntil(Math.min(clock.now() + 1_000, end));
      }
      return true;
    },
    states: (rolloutId) => Object.fromEntries(records(rolloutId).map((r) => [r.hostname, r.state])),
    count: (rolloutId, state) => records(rolloutId).filter((r) => r.state === state).length,
    flush() {
      const stopped: Record<string, StopResult> = {};
      agents.forEach((a, name) => a.graph.stop().subscribe((r) => (stopped[name] = r)));
      clock.runUntil(clock.now() + DRAIN_DEADLINE_MS);
      const late = [...agents.keys()].filter((h) => stopped[h] === undefined);
      if (late.length > 0) throw new Error(`flush: ${late.join(', ')} did not stop within ${DRAIN_DEADLINE_MS} ms of virtual time`);
      return stopped;
    },
  };
}

// In-memory ports for embedding the graph in tests and harnesses (the
// `nixfleet-agent/testing` entry). Each records what it was asked and answers
// from a script; timing comes from rxjs timers on the caller's scheduler
// (virtual in marble tests and the fleet runner).
import { defer, Observable, of, throwError, timer, map, type SchedulerLike } from 'rxjs';
import type { ActivationOutcome, ActivationPort, RollbackOutcome } from '../ports/activation';
import type { ControlPlanePort, DeliveryOutcome, DispatchAnswer, HeartbeatAnswer, HeartbeatRequest } from '../ports/control-plane';
import type { CertPort, CertValidity, HostPort } from '../ports/host';
import type { Logger } from '../ports/logger';
import type { ManifestPort, ManifestSet } from '../ports/manifests';
import type { ProbeDeclaration, ProbePort, ProbeRunResult } from '../ports/probes';
import type { RolloutPolicy } from '../codecs/policy';
import { fromEpochMillis } from '../codecs/timestamp';

export interface Call<T = unknown> {
  readonly at: number;
  readonly arg: T;
}

export class FakeControlPlane implements ControlPlanePort {
  readonly dispatchCalls: number[] = [];
  readonly heartbeats: Call<HeartbeatRequest>[] = [];
  readonly posted: Call<string>[] = [];
  /** Next dispatch answers, consumed in order; when empty the CP holds for `holdMs` and answers none. */
  dispatchScript: (() => Observable<DispatchAnswer>)[] = [];
  holdMs = 60_000;
  heartbeatAnswer: () => Observable<HeartbeatAnswer> = () => of({ bootstrapRollouts: [] });
  postAnswer: (body: string) => Observable<DeliveryOutcome> = () => of({ kind: 'acked' });

  constructor(private readonly scheduler: SchedulerLike) {}

  dispatch(): Observable<DispatchAnswer> {
    return defer(() => {
      this.dispatchCalls.push(this.scheduler.now());
      const next = this.dispatchScript.shift();
      return next !== undefined ? next() : timer(this.holdMs, this.scheduler).pipe(map((): DispatchAnswer => ({ kind: 'none' })));
    });
  }
  heartbeat(body: HeartbeatRequest): Observable<HeartbeatAnswer> {
    return defer(() => {
      this.heartbeats.push({ at: this.scheduler.now(), arg: body });
      return this.heartbeatAnswer();
    });
  }
  postEvent(body: string): Observable<DeliveryOutcome> {
    return defer(() => {
      this.posted.push({ at: this.scheduler.now(), arg: body });
      return this.postAnswer(body);
    });
  }
  /** Seqs of posted events, in order, as `kind:seq`. */
  postedEvents(): string[] {
    return this.posted.map((c) => {
      const e = JSON.parse(c.arg) as { event: { kind: string; seq: number } };
      return `${e.event.kind}:${e.event.seq}`;
    });
  }
}

export const policyOf = (onHealthFailure: RolloutPolicy['onHealthFailure']): RolloutPolicy => ({ strategy: 'all-at-once', waves: [], healthGate: {}, onHealthFailure });

export const manifestSet = (onHealthFailure: RolloutPolicy['onHealthFailure'] = 'halt', channel = 'stable'): ManifestSet => ({
  fleet: { channels: { [channel]: { rolloutPolicy: 'p' } }, rolloutPolicies: { p: policyOf(onHealthFailure) } },
  rollouts: { [channel]: `${channel}@r1` },
});

export class FakeManifests implements ManifestPort {
  refreshes = 0;
  /** rollout id → the closure its signed manifest names for this host; unset: every closure verifies. */
  signed: Record<string, string> | undefined;
  readonly dispatchChecks: { rolloutId: string; closure: string }[] = [];
  constructor(public set: ManifestSet = manifestSet(), private readonly failDispatch = false) {}
  refresh(): Observable<ManifestSet> {
    return defer(() => {
      this.refreshes += 1;
      return of(this.set);
    });
  }
  ensureForDispatch(rolloutId: string, _hostname: string, targetClosure: string) {
    return defer(() => {
      this.dispatchChecks.push({ rolloutId, closure: targetClosure });
      const named = this.signed === undefined ? targetClosure : this.signed[rolloutId];
      if (this.failDispatch || named !== targetClosure) return throwError(() => new Error(`manifest does not bind this host to ${targetClosure}`));
      return of({ rolloutId, targetClosure, signedAt: fromEpochMillis(0) });
    });
  }
}

export class FakeActivation implements ActivationPort {
  readonly calls: Call<{ closure: string; rollback: boolean }>[] = [];
  readonly finished: number[] = [];
  durationMs = 10_000;
  forward: (closure: string) => ActivationOutcome = (closure) => ({ kind: 'FiredAndPolled', observedClosure: closure });
  back: (closure: string) => RollbackOutcome = (closure) => ({ kind: 'FiredAndPolled', revertedTo: closure });
  /** With `host`, a switch or rollback that lands moves what the host runs, as on a real host. */
  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly host?: FakeHost,
  ) {}

  private run<T>(closure: string, rollback: boolean, outcome: () => T): Observable<T> {
    return defer(() => {
      this.calls.push({ at: this.scheduler.now(), arg: { closure, rollback } });
      return timer(this.durationMs, this.scheduler).pipe(
        map(() => {
          this.finished.push(this.scheduler.now());
          return outcome();
        }),
      );
    });
  }
  activate(closure: string): Observable<ActivationOutcome> {
    return this.run(closure, false, () => {
      const o = this.forward(closure);
      if (o.kind === 'FiredAndPolled' && this.host !== undefined) this.host.closure = o.observedClosure;
      return o;
    });
  }
  rollback(closure: string): Observable<RollbackOutcome> {
    return this.run(closure, true, () => {
      const o = this.back(closure);
      if (o.kind === 'FiredAndPolled' && this.host !== undefined) this.host.closure = o.revertedTo;
      return o;
    });
  }
}

export const probe = (name: string, mode: ProbeDeclaration['mode'] = 'enforce', intervalSeconds = 5): ProbeDeclaration => ({
  name,
  kind: 'exec',
  mode,
  intervalSeconds,
  runOnce: false,
  spec: {},
});

export class FakeProbes implements ProbePort {
  readonly runs: Call<string>[] = [];
  /** Result of probe `name` at virtual time `now`. */
  result: (name: string, now: number) => ProbeRunResult = () => ({ status: 'pass' });
  constructor(
    private readonly scheduler: SchedulerLike,
    public declared: readonly ProbeDeclaration[] = [],
  ) {}
  declarations(): Observable<readonly ProbeDeclaration[]> {
    return defer(() => of(this.declared));
  }
  run(p: ProbeDeclaration): Observable<ProbeRunResult> {
    return defer(() => {
      this.runs.push({ at: this.scheduler.now(), arg: p.name });
      return of(this.result(p.name, this.scheduler.now()));
    });
  }
}

export class FakeHost implements HostPort {
  constructor(public closure: string | undefined = 'prior-closure') {}
  currentClosure(): Observable<string | undefined> {
    return defer(() => of(this.closure));
  }
}

export class FakeCert implements CertPort {
  renewals = 0;
  constructor(public current: CertValidity = { notBefore: fromEpochMillis(0), notAfter: fromEpochMillis(365 * 86_400_000) }) {}
  validity(): Observable<CertValidity> {
    return defer(() => of(this.current));
  }
  renew(): Observable<CertValidity> {
    return defer(() => {
      this.renewals += 1;
      return of(this.current);
    });
  }
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export class MemoryLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'debug', message, ...(fields ? { fields } : {}) });
  }
  info(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'info', message, ...(fields ? { fields } : {}) });
  }
  warn(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) });
  }
  error(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'error', message, ...(fields ? { fields } : {}) });
  }
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}


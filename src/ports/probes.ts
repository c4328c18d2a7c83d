// Health probes (reference agent-runtime.md §10): the declarations file and
// one run of one probe. Scheduling lives in src/sources/probe.ts.
import type { Observable } from 'rxjs';
import type { ProbeSubResult } from '../codecs/events';
import type { ProbeMode, ProbeStatus } from '../codecs/scalars';

export interface ProbeDeclaration {
  readonly name: string;
  /** `http`, `tcp`, `exec`, `evidence` (unknown kinds fail every run). */
  readonly kind: string;
  readonly mode: ProbeMode;
  readonly intervalSeconds: number;
  readonly runOnce: boolean;
  /** The kind-specific settings, as declared (the runner decodes them). */
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface ProbeRunResult {
  readonly status: ProbeStatus;
  readonly failureReason?: string;
  readonly subResults?: readonly ProbeSubResult[];
}

export interface ProbePort {
  /** The declared probes; a missing file completes without a value (nothing declared), a bad one is an error. */
  declarations(): Observable<readonly ProbeDeclaration[]>;
  /** One run; any failure is a `fail` result, never an error. Unsubscribing kills the run. */
  run(probe: ProbeDeclaration): Observable<ProbeRunResult>;
  /** Upstream's NIXFLEET_AGENT_PROBE_TEST_MODE: a reset then declares nothing and runs nothing. */
  testMode?(): boolean;
}

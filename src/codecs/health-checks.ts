// `/etc/nixfleet/agent/health-checks.json` (reference agent-runtime.md §10.1):
// an object keyed by probe name. Field names and defaults are upstream's
// `ProbeDecl`; unknown keys are dropped as serde does. Stricter than
// upstream on purpose (docs/activation-and-probes.md): an unknown kind or
// mode, a negative or fractional number, or a wrongly typed field refuses
// the file with a path and a reason instead of running a probe that can
// only fail or silently becoming `enforce`.
import * as t from 'io-ts';
import { ProbeMode, Text, U64 } from './scalars';
import { integer, literals, opt, req, sortedRecord, struct, withDefault } from './struct';

export const PROBE_KINDS = ['http', 'tcp', 'exec', 'evidence'] as const;
export const ProbeKind = literals('ProbeKind', PROBE_KINDS);
export type ProbeKind = t.TypeOf<typeof ProbeKind>;

export const U16 = integer('u16', 0, 0xffff);

export const DEFAULT_INTERVAL_SECONDS = 30;
export const DEFAULT_EXPECT_STATUS = 200;
export const DEFAULT_CONNECT_TIMEOUT_SECS = 5;
export const DEFAULT_TIMEOUT_SECS = 10;
export const DEFAULT_EVIDENCE_PATH = '/var/lib/nixfleet-compliance/evidence.json';
export const DEFAULT_HEALTH_CHECKS_PATH = '/etc/nixfleet/agent/health-checks.json';

/** One entry of `controlOverrides` / `controls`: the control's mode and the operator's reason. */
export const ControlOverride = struct('ControlOverride', {
  mode: req(ProbeMode),
  reason: withDefault(Text, ''),
});
export type ControlOverride = t.TypeOf<typeof ControlOverride>;

const ControlMap = sortedRecord('ControlMap', ControlOverride);

export const ProbeEntry = struct('ProbeEntry', {
  kind: req(ProbeKind),
  mode: req(ProbeMode),
  intervalSeconds: withDefault(U64, DEFAULT_INTERVAL_SECONDS),
  runOnce: withDefault(t.boolean, false),
  // http
  url: opt(Text),
  expectStatus: withDefault(U16, DEFAULT_EXPECT_STATUS),
  // tcp
  host: opt(Text),
  port: opt(U16),
  connectTimeoutSecs: withDefault(U64, DEFAULT_CONNECT_TIMEOUT_SECS),
  // exec
  command: withDefault(t.array(Text), []),
  // http and exec
  timeoutSecs: withDefault(U64, DEFAULT_TIMEOUT_SECS),
  // evidence
  framework: opt(Text),
  evidencePath: withDefault(Text, DEFAULT_EVIDENCE_PATH),
  controlOverrides: withDefault(ControlMap, {}),
  controls: withDefault(ControlMap, {}),
  // http extensions (RFC-0007 §3.2 `bodyContains`; TLS options are ours)
  bodyContains: opt(Text),
  /** PEM file of extra CA certificates trusted for this probe's https URL. */
  tlsCaFile: opt(Text),
  /** Accept any server certificate (self-signed local endpoints). */
  tlsSkipVerify: withDefault(t.boolean, false),
});
export type ProbeEntry = t.TypeOf<typeof ProbeEntry>;

export const HealthChecks = sortedRecord('HealthChecks', ProbeEntry);
export type HealthChecks = t.TypeOf<typeof HealthChecks>;

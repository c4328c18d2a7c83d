// Events of the host state machine (24 kinds: 12 Local/Remote pairs) and the
// 12 wire `AgentEvent` kinds, with upstream's exact JSON spellings and key
// order (reference/state-machine.md §3, §12.4). Each payload shape is written
// once and shared by the Local event, its Remote twin and the wire kind,
// because upstream converts between them field for field.
import * as t from 'io-ts';
import { I32, OnHealthFailure, ProbeMode, ProbeStatus, Seq, Text, U64 } from './scalars';
import { opt, req, struct, taggedUnion, withDefault } from './struct';
import { TimestampCodec } from './timestamp';

export const ProbeSubResult = struct('ProbeSubResult', {
  controlId: req(Text),
  status: req(ProbeStatus),
  framework: req(Text),
  article: opt(Text),
  effectiveMode: withDefault(ProbeMode, 'enforce'),
  overrideReason: opt(Text),
});
export type ProbeSubResult = t.TypeOf<typeof ProbeSubResult>;

export const ProbeTopologyEntry = struct('ProbeTopologyEntry', {
  probeName: req(Text),
  kind: req(Text),
  mode: withDefault(ProbeMode, 'enforce'),
});
export type ProbeTopologyEntry = t.TypeOf<typeof ProbeTopologyEntry>;

const seq = req(Seq);

const dispatchAck = { currentClosureAtDispatch: req(Text), receivedAt: req(TimestampCodec), seq };
const activationStarted = { startedAt: req(TimestampCodec), switchMethod: req(Text), seq };
const activationCompleted = { observedCurrentClosure: req(Text), exitCode: req(I32), completedAt: req(TimestampCodec), seq };
const activationFailed = { exitCode: req(I32), stderrTail: req(Text), failedAt: req(TimestampCodec), seq };
const activationDeferred = { component: req(Text), deferredAt: req(TimestampCodec), seq };
const probeTopologyDeclared = { probes: req(t.array(ProbeTopologyEntry)), declaredAt: req(TimestampCodec), seq };
const probeObservedFirst = { probeName: req(Text), mode: withDefault(ProbeMode, 'enforce'), observedAt: req(TimestampCodec), seq };
const probeResult = {
  probeName: req(Text),
  mode: withDefault(ProbeMode, 'enforce'),
  status: req(ProbeStatus),
  observedAt: req(TimestampCodec),
  failureReason: opt(Text),
  subResults: opt(t.array(ProbeSubResult)),
  seq,
};
const probeFailureFirst = { probeName: req(Text), mode: withDefault(ProbeMode, 'enforce'), firstFailedAt: req(TimestampCodec), seq };
const failed = {
  failedAt: req(TimestampCodec),
  sustainedDurationSecs: req(U64),
  failingProbes: req(t.array(Text)),
  policyApplied: req(OnHealthFailure),
  seq,
};
const rollbackComplete = { revertedToClosure: req(Text), exitCode: req(I32), completedAt: req(TimestampCodec), seq };
const converged = { convergedAt: req(TimestampCodec), currentClosure: req(Text), seq };

const localActivate = {
  currentClosureAtDispatch: req(Text),
  targetClosure: req(Text),
  receivedAt: req(TimestampCodec),
  soakDueAt: req(TimestampCodec),
  seq,
};

/** Wire `AgentEvent` = the reducer's `OutboundAgentEvent` (same names, same fields). */
export const AgentEvent = taggedUnion('AgentEvent', {
  DispatchAck: struct('DispatchAck', dispatchAck),
  ActivationStarted: struct('ActivationStarted', activationStarted),
  ActivationCompleted: struct('ActivationCompleted', activationCompleted),
  ActivationFailed: struct('ActivationFailed', activationFailed),
  ActivationDeferred: struct('ActivationDeferred', activationDeferred),
  ProbeTopologyDeclared: struct('ProbeTopologyDeclared', probeTopologyDeclared),
  ProbeObservedFirst: struct('ProbeObservedFirst', probeObservedFirst),
  ProbeResult: struct('ProbeResult', probeResult),
  ProbeFailureFirst: struct('ProbeFailureFirst', probeFailureFirst),
  Failed: struct('Failed', failed),
  RollbackComplete: struct('RollbackComplete', rollbackComplete),
  Converged: struct('Converged', converged),
});
export type AgentEvent = t.TypeOf<typeof AgentEvent>;
export type AgentEventKind = AgentEvent['kind'];
export type OutboundAgentEvent = AgentEvent;

export const Event = taggedUnion('Event', {
  LocalActivate: struct('LocalActivate', localActivate),
  RemoteDispatchAck: struct('RemoteDispatchAck', dispatchAck),
  LocalActivationStarted: struct('LocalActivationStarted', activationStarted),
  RemoteActivationStarted: struct('RemoteActivationStarted', activationStarted),
  LocalActivationCompleted: struct('LocalActivationCompleted', activationCompleted),
  RemoteActivationCompleted: struct('RemoteActivationCompleted', activationCompleted),
  LocalActivationDeferred: struct('LocalActivationDeferred', activationDeferred),
  RemoteActivationDeferred: struct('RemoteActivationDeferred', activationDeferred),
  LocalActivationFailed: struct('LocalActivationFailed', activationFailed),
  RemoteActivationFailed: struct('RemoteActivationFailed', activationFailed),
  LocalProbeTopologyDeclared: struct('LocalProbeTopologyDeclared', probeTopologyDeclared),
  RemoteProbeTopologyDeclared: struct('RemoteProbeTopologyDeclared', probeTopologyDeclared),
  LocalProbeObservedFirst: struct('LocalProbeObservedFirst', probeObservedFirst),
  RemoteProbeObservedFirst: struct('RemoteProbeObservedFirst', probeObservedFirst),
  LocalProbeResult: struct('LocalProbeResult', probeResult),
  RemoteProbeResult: struct('RemoteProbeResult', probeResult),
  LocalProbeFailureFirst: struct('LocalProbeFailureFirst', probeFailureFirst),
  RemoteProbeFailureFirst: struct('RemoteProbeFailureFirst', probeFailureFirst),
  LocalSustainedFailureCrossed: struct('LocalSustainedFailureCrossed', failed),
  RemoteFailed: struct('RemoteFailed', failed),
  LocalRollbackCompleted: struct('LocalRollbackCompleted', rollbackComplete),
  RemoteRollbackComplete: struct('RemoteRollbackComplete', rollbackComplete),
  LocalConvergedReached: struct('LocalConvergedReached', converged),
  RemoteConverged: struct('RemoteConverged', converged),
});
export type Event = t.TypeOf<typeof Event>;
export type EventKind = Event['kind'];
export type EventOf<K extends EventKind> = Extract<Event, { kind: K }>;

export const EVENT_KINDS = Object.keys(Event.members) as EventKind[];
export const AGENT_EVENT_KINDS = Object.keys(AgentEvent.members) as AgentEventKind[];

/** Wire kind ⇄ the Local/Remote event pair that carries it. */
export const WIRE_KIND_OF: Readonly<Record<EventKind, AgentEventKind>> = {
  LocalActivate: 'DispatchAck',
  RemoteDispatchAck: 'DispatchAck',
  LocalActivationStarted: 'ActivationStarted',
  RemoteActivationStarted: 'ActivationStarted',
  LocalActivationCompleted: 'ActivationCompleted',
  RemoteActivationCompleted: 'ActivationCompleted',
  LocalActivationDeferred: 'ActivationDeferred',
  RemoteActivationDeferred: 'ActivationDeferred',
  LocalActivationFailed: 'ActivationFailed',
  RemoteActivationFailed: 'ActivationFailed',
  LocalProbeTopologyDeclared: 'ProbeTopologyDeclared',
  RemoteProbeTopologyDeclared: 'ProbeTopologyDeclared',
  LocalProbeObservedFirst: 'ProbeObservedFirst',
  RemoteProbeObservedFirst: 'ProbeObservedFirst',
  LocalProbeResult: 'ProbeResult',
  RemoteProbeResult: 'ProbeResult',
  LocalProbeFailureFirst: 'ProbeFailureFirst',
  RemoteProbeFailureFirst: 'ProbeFailureFirst',
  LocalSustainedFailureCrossed: 'Failed',
  RemoteFailed: 'Failed',
  LocalRollbackCompleted: 'RollbackComplete',
  RemoteRollbackComplete: 'RollbackComplete',
  LocalConvergedReached: 'Converged',
  RemoteConverged: 'Converged',
};

/** The Remote* event the control plane derives from each wire kind (lossless). */
export const REMOTE_KIND_OF: Readonly<Record<AgentEventKind, EventKind>> = {
  DispatchAck: 'RemoteDispatchAck',
  ActivationStarted: 'RemoteActivationStarted',
  ActivationCompleted: 'RemoteActivationCompleted',
  ActivationFailed: 'RemoteActivationFailed',
  ActivationDeferred: 'RemoteActivationDeferred',
  ProbeTopologyDeclared: 'RemoteProbeTopologyDeclared',
  ProbeObservedFirst: 'RemoteProbeObservedFirst',
  ProbeResult: 'RemoteProbeResult',
  ProbeFailureFirst: 'RemoteProbeFailureFirst',
  Failed: 'RemoteFailed',
  RollbackComplete: 'RemoteRollbackComplete',
  Converged: 'RemoteConverged',
};

/** Wire event → the matching Remote* event (what the CP mirror feeds to step()). */
export function toRemoteEvent(wire: AgentEvent): Event {
  return { ...wire, kind: REMOTE_KIND_OF[wire.kind] } as Event;
}

/** `POST /v1/agent/events` body. */
export const AgentEventEnvelope = struct('AgentEventEnvelope', {
  hostname: req(Text),
  rolloutId: req(Text),
  event: req(AgentEvent),
  /** Hex string; omitted when absent. */
  signature: opt(Text),
});
export type AgentEventEnvelope = t.TypeOf<typeof AgentEventEnvelope>;

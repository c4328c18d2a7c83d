// fast-check arbitraries for the wire and reducer shapes.
import fc from 'fast-check';
import type { Effect } from '../../src/codecs/effects';
import { EVENT_KINDS, type AgentEvent, type Event, type EventKind, type ProbeSubResult } from '../../src/codecs/events';
import type { HostRolloutSnapshot, HostRolloutState, ProbeRecord } from '../../src/codecs/host-state';
import { HOST_STATES } from '../../src/codecs/scalars';
import { formatInstant, type Timestamp } from '../../src/codecs/timestamp';
import { outbound } from '../../src/reducer';

// 1970..2100, with every fraction width upstream writes (none, 3, 6, 9 digits).
export const arbTimestamp: fc.Arbitrary<Timestamp> = fc
  .tuple(
    fc.integer({ min: 0, max: 4_102_444_800 }),
    fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 999 }).map((ms) => ms * 1_000_000),
      fc.integer({ min: 1, max: 999_999 }).map((us) => us * 1_000),
      fc.integer({ min: 1, max: 999_999_999 }),
    ),
  )
  .map(([seconds, nanos]) => formatInstant({ seconds, nanos }));

// Full Unicode (no lone surrogates: Rust strings cannot hold them), plus names
// that trip naive object handling.
export const arbText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '__proto__', 'constructor', 'toString', 'a"b\\c\n\t', 'hé', '🚀') },
);
const arbSeq = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant(Number.MAX_SAFE_INTEGER));
const arbI32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const arbMode = fc.constantFrom('enforce', 'observe', 'disabled' as const);
const arbStatus = fc.constantFrom('pass', 'fail' as const);
const arbPolicy = fc.constantFrom('halt', 'rollback-and-halt' as const);

/** fc.record with optional keys that are absent (never undefined), as exactOptionalPropertyTypes wants. */
const withOptional = <T extends object>(required: fc.Arbitrary<T>, optional: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(required, fc.record(optional, { requiredKeys: [] })).map(([r, o]) => ({ ...r, ...o }));

const arbSubResult: fc.Arbitrary<ProbeSubResult> = withOptional(
  fc.record({ controlId: arbText, status: arbStatus, framework: arbText, effectiveMode: arbMode }),
  { article: arbText, overrideReason: arbText },
) as fc.Arbitrary<ProbeSubResult>;

const payloads: Record<string, fc.Arbitrary<object>> = {
  dispatch: fc.record({ currentClosureAtDispatch: arbText, receivedAt: arbTimestamp }),
  started: fc.record({ startedAt: arbTimestamp, switchMethod: arbText }),
  completed: fc.record({ observedCurrentClosure: arbText, exitCode: arbI32, completedAt: arbTimestamp }),
  failed: fc.record({ exitCode: arbI32, stderrTail: arbText, failedAt: arbTimestamp }),
  deferred: fc.record({ component: arbText, deferredAt: arbTimestamp }),
  topology: fc.record({
    probes: fc.array(fc.record({ probeName: arbText, kind: arbText, mode: arbMode }), { maxLength: 3 }),
    declaredAt: arbTimestamp,
  }),
  observed: fc.record({ probeName: arbText, mode: arbMode, observedAt: arbTimestamp }),
  result: withOptional(fc.record({ probeName: arbText, mode: arbMode, status: arbStatus, observedAt: arbTimestamp }), {
    failureReason: arbText,
    subResults: fc.array(arbSubResult, { maxLength: 2 }),
  }),
  failureFirst: fc.record({ probeName: arbText, mode: arbMode, firstFailedAt: arbTimestamp }),
  sustained: fc.record({
    failedAt: arbTimestamp,
    sustainedDurationSecs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    failingProbes: fc.array(arbText, { maxLength: 3 }),
    policyApplied: arbPolicy,
  }),
  rollback: fc.record({ revertedToClosure: arbText, exitCode: arbI32, completedAt: arbTimestamp }),
  converged: fc.record({ convergedAt: arbTimestamp, currentClosure: arbText }),
  activate: fc.record({ currentClosureAtDispatch: arbText, targetClosure: arbText, receivedAt: arbTimestamp, soakDueAt: arbTimestamp }),
};

const PAYLOAD_OF: Record<EventKind, string> = {
  LocalActivate: 'activate',
  RemoteDispatchAck: 'dispatch',
  LocalActivationStarted: 'started',
  RemoteActivationStarted: 'started',
  LocalActivationCompleted: 'completed',
  RemoteActivationCompleted: 'completed',
  LocalActivationDeferred: 'deferred',
  RemoteActivationDeferred: 'deferred',
  LocalActivationFailed: 'failed',
  RemoteActivationFailed: 'failed',
  LocalProbeTopologyDeclared: 'topology',
  RemoteProbeTopologyDeclared: 'topology',
  LocalProbeObservedFirst: 'observed',
  RemoteProbeObservedFirst: 'observed',
  LocalProbeResult: 'result',
  RemoteProbeResult: 'result',
  LocalProbeFailureFirst: 'failureFirst',
  RemoteProbeFailureFirst: 'failureFirst',
  LocalSustainedFailureCrossed: 'sustained',
  RemoteFailed: 'sustained',
  LocalRollbackCompleted: 'rollback',
  RemoteRollbackComplete: 'rollback',
  LocalConvergedReached: 'converged',
  RemoteConverged: 'converged',
};

export const arbEventOfKind = (kind: EventKind, seq: fc.Arbitrary<number> = arbSeq): fc.Arbitrary<Event> =>
  fc.tuple(payloads[PAYLOAD_OF[kind]] as fc.Arbitrary<object>, seq).map(([p, s]) => ({ kind, ...p, seq: s }) as Event);

export const arbEvent: fc.Arbitrary<Event> = fc.constantFrom(...EVENT_KINDS).chain((k) => arbEventOfKind(k));

export const arbAgentEvent: fc.Arbitrary<AgentEvent> = fc
  .constantFrom(...EVENT_KINDS.filter((k) => k.startsWith('Remote')))
  .chain((k) => arbEventOfKind(k))
  .map(outbound);

const arbProbeRecord: fc.Arbitrary<ProbeRecord> = withOptional(fc.record({ status: arbStatus, mode: arbMode, lastObservedAt: arbTimestamp }), {
  lastPassAt: arbTimestamp,
  failureReason: arbText,
}) as fc.Arbitrary<ProbeRecord>;

export const arbState: fc.Arbitrary<HostRolloutState> = withOptional(
  fc.record({
    rolloutId: arbText,
    hostname: arbText,
    channel: arbText,
    state: fc.constantFrom(...HOST_STATES),
    targetClosure: arbText,
    dispatchedAt: arbTimestamp,
    probes: fc.dictionary(arbText, arbProbeRecord, { maxKeys: 3 }),
    lastEventSeq: arbSeq,
  }),
  {
    currentClosureAtDispatch: arbText,
    currentClosure: arbText,
    revertedTo: arbText,
    dispatchAckedAt: arbTimestamp,
    activationStartedAt: arbTimestamp,
    activationCompletedAt: arbTimestamp,
    activationFailedAt: arbTimestamp,
    probeObservedFirstAt: arbTimestamp,
    probeFailureFirstAt: arbTimestamp,
    soakDueAt: arbTimestamp,
    convergedAt: arbTimestamp,
    failedAt: arbTimestamp,
    policyApplied: arbPolicy,
    revertedAt: arbTimestamp,
  },
) as fc.Arbitrary<HostRolloutState>;

export const arbSnapshot: fc.Arbitrary<HostRolloutSnapshot> = withOptional(
  fc.record({
    rolloutId: arbText,
    hostname: arbText,
    channel: arbText,
    state: fc.constantFrom(...HOST_STATES),
    targetClosure: arbText,
    dispatchedAt: arbTimestamp,
    lastEventSeq: arbSeq,
  }),
  {
    currentClosureAtDispatch: arbText,
    currentClosure: arbText,
    dispatchAckedAt: arbTimestamp,
    activationStartedAt: arbTimestamp,
    activationCompletedAt: arbTimestamp,
    soakDueAt: arbTimestamp,
  },
) as fc.Arbitrary<HostRolloutSnapshot>;

export const arbEffect: fc.Arbitrary<Effect> = fc.oneof(
  fc.record({ kind: fc.constant('LocalFireSwitch' as const), rolloutId: arbText, target: arbText }),
  fc.record({ kind: fc.constant('LocalFireRollbackTo' as const), rolloutId: arbText, closure: arbText }),
  fc.record({ kind: fc.constant('LocalResetProbeCache' as const), rolloutId: arbText }),
  fc.record({ kind: fc.constant('LocalEmitEvent' as const), rolloutId: arbText, payload: arbAgentEvent, durable: fc.boolean() }),
  fc.record({ kind: fc.constant('RemoteAppendEventLog' as const), host: arbText, rolloutId: arbText, payload: arbAgentEvent }),
  fc.record({ kind: fc.constant('RemoteInsertQuarantine' as const), channel: arbText, closure: arbText }),
  fc.record({
    kind: fc.constant('RecordTransition' as const),
    host: arbText,
    rolloutId: arbText,
    from: fc.constantFrom(...HOST_STATES),
    to: fc.constantFrom(...HOST_STATES),
    at: arbTimestamp,
  }),
);

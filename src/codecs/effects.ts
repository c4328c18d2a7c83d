// Effects returned by step(): descriptions for the applier, in upstream order
// (reference/state-machine.md §4). Local* are the agent's, Remote* the CP's.
import * as t from 'io-ts';
import { AgentEvent } from './events';
import { HostState, LogLevel, RolloutId, Text } from './scalars';
import { req, struct, taggedUnion } from './struct';
import { TimestampCodec } from './timestamp';

const KeyValue = t.tuple([Text, Text]);

export const Effect = taggedUnion('Effect', {
  LocalFireSwitch: struct('LocalFireSwitch', { rolloutId: req(RolloutId), target: req(Text) }),
  LocalFireRollbackTo: struct('LocalFireRollbackTo', { rolloutId: req(RolloutId), closure: req(Text) }),
  LocalResetProbeCache: struct('LocalResetProbeCache', { rolloutId: req(RolloutId) }),
  LocalEmitEvent: struct('LocalEmitEvent', { rolloutId: req(RolloutId), payload: req(AgentEvent), durable: req(t.boolean) }),
  RemoteQueueDispatch: struct('RemoteQueueDispatch', {
    host: req(Text),
    rolloutId: req(RolloutId),
    targetClosure: req(Text),
    soakDueAt: req(TimestampCodec),
  }),
  RemoteInsertQuarantine: struct('RemoteInsertQuarantine', { channel: req(Text), closure: req(Text) }),
  RemoteOpenRolloutRecord: struct('RemoteOpenRolloutRecord', { rolloutId: req(RolloutId), channel: req(Text), host: req(Text) }),
  RemoteAppendEventLog: struct('RemoteAppendEventLog', { host: req(Text), rolloutId: req(RolloutId), payload: req(AgentEvent) }),
  RecordTransition: struct('RecordTransition', {
    host: req(Text),
    rolloutId: req(RolloutId),
    from: req(HostState),
    to: req(HostState),
    at: req(TimestampCodec),
  }),
  EmitMetric: struct('EmitMetric', { name: req(Text), labels: req(t.array(KeyValue)), value: req(t.number) }),
  EmitLog: struct('EmitLog', { level: req(LogLevel), target: req(Text), message: req(Text), fields: req(t.array(KeyValue)) }),
});
export type Effect = t.TypeOf<typeof Effect>;
export type EffectKind = Effect['kind'];
export type EffectOf<K extends EffectKind> = Extract<Effect, { kind: K }>;

// The built package entry (dist/index.js, what harnesses embed) exports the
// state machine, its constructor, the codecs and every port a harness
// implements; `nixfleet-agent/testing` resolves through the exports map.
// `npm test` builds first.
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as ts from 'typescript';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const api = require('../dist/index.js');

describe('dist/index.js', () => {
  it('verifies the derived signed manifest vector with its harness key', () => {
    const dir = path.resolve(__dirname, 'vectors/derived/nixfleet-harness/rollout-manifest');
    const r = api.verifyRolloutManifest(
      new Uint8Array(fs.readFileSync(path.join(dir, 'manifest.canonical.json'))),
      new Uint8Array(fs.readFileSync(path.join(dir, 'manifest.canonical.json.sig'))),
      [{ algorithm: 'ed25519', public: fs.readFileSync(path.join(dir, 'pubkey.b64'), 'utf8').trim() }],
      { now: '2026-05-01T00:30:00Z', freshnessWindowSecs: 3600 },
    );
    expect(E.isRight(r)).toBe(true);
    expect(api.canonicalize({ b: 1, a: [true, null] })).toBe('{"a":[true,null],"b":1}');
  });

  it.each([
    'step',
    'newPending',
    'advanceTick',
    'checkSustainedFailure',
    'checkConvergence',
    'rehydrationEffects',
    'mergeSnapshot',
    'decodeWith',
    'decodeJson',
    'encodeJson',
    'fromEpochMillis',
    'compareTimestamps',
    'agentStep',
    'initialAgentState',
    'createAgentGraph',
    'mailbox',
    'canonicalize',
    'verifyFleetResolved',
    'verifyRolloutManifest',
    'verifyRevocations',
    'parseTrustConfig',
  ])('exports function %s', (name) => {
    expect(typeof api[name]).toBe('function');
  });

  it.each(['Event', 'AgentEvent', 'AgentEventEnvelope', 'Effect', 'HostRolloutState', 'HostRolloutSnapshot', 'RolloutPolicy', 'ProbeRecord', 'HostState', 'OnHealthFailure', 'TimestampCodec', 'FleetResolved', 'RolloutManifest', 'Revocations', 'TrustConfig'])(
    'exports codec %s',
    (name) => {
      expect(typeof api[name].decode).toBe('function');
      expect(typeof api[name].encode).toBe('function');
    },
  );

  it('runs a dispatch acknowledgement end to end from JSON', () => {
    const policy = E.getOrElseW(() => null)(api.decodeJson(api.RolloutPolicy, '{"strategy":"all-at-once","waves":[],"onHealthFailure":"halt"}'));
    const now = api.fromEpochMillis(1_000);
    const state = api.newPending('stable@abc', 'self', 'stable', 'target', api.fromEpochMillis(0), api.fromEpochMillis(300_000));
    const event = E.getOrElseW(() => null)(
      api.decodeJson(api.Event, '{"kind":"LocalActivate","currentClosureAtDispatch":"prior","targetClosure":"target","receivedAt":"1970-01-01T00:00:01Z","soakDueAt":"1970-01-01T00:05:00Z","seq":1}'),
    );
    const r = api.step(state, event, policy, now);
    expect(E.isRight(r)).toBe(true);
    expect(api.encodeJson(api.Effect, r.right.effects[1])).toBe(
      '{"kind":"LocalEmitEvent","rolloutId":"stable@abc","payload":{"kind":"DispatchAck","currentClosureAtDispatch":"prior","receivedAt":"1970-01-01T00:00:01Z","seq":1},"durable":true}',
    );
  });

  it('exports every type and value of src/ports/* (what a harness implements), in its declarations too', () => {
    const root = path.resolve(__dirname, '..');
    const portFiles = fs.readdirSync(path.join(root, 'src/ports')).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, 'src/ports', f));
    const entry = path.join(root, 'dist/index.d.ts');
    const program = ts.createProgram([entry, ...portFiles], { skipLibCheck: true, types: [], noEmit: true });
    const checker = program.getTypeChecker();
    const exportsOf = (file: string): string[] => {
      const source = program.getSourceFile(file);
      const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      return symbol === undefined ? [] : checker.getExportsOfModule(symbol).map((s) => s.getName());
    };
    const exported = new Set(exportsOf(entry));
    const ports = portFiles.flatMap((f) => exportsOf(f).map((name) => `${path.basename(f)}: ${name}`));
    expect(ports.length).toBeGreaterThan(40);
    expect(ports.filter((p) => !exported.has(p.split(': ')[1] ?? ''))).toEqual([]);
    for (const port of ['ControlPlanePort', 'ManifestPort', 'ActivationPort', 'ProbePort', 'HostPort', 'CertPort', 'OutboundQueuePort', 'ProcessPort', 'Logger']) expect(exported).toContain(port);
  });

  it('resolves nixfleet-agent/testing through the exports map to dist/testing', () => {
    expect(require.resolve('nixfleet-agent/testing')).toBe(path.resolve(__dirname, '../dist/testing/index.js'));
    expect(require.resolve('nixfleet-agent')).toBe(path.resolve(__dirname, '../dist/index.js'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const testing = require('nixfleet-agent/testing');
    for (const name of ['virtualFleet', 'inMemoryPorts', 'VirtualClock', 'SharedMirror', 'MirrorCp', 'FakeControlPlane', 'MemoryQueue', 'probe']) expect(typeof testing[name]).toBe('function');
  });
});

// The design's mechanical rules are lint rules, not promises: prove they fire
// on the paths they guard and stay quiet in the real adapters.
import { spawnSync } from 'child_process';
import * as path from 'path';

const CLOCK = 'export const a = Date.now();\nexport const b = new Date();\nexport const c = setTimeout(() => {}, 1);\nexport const d = setInterval(() => {}, 1);\n';
const CLOCK_MESSAGES = [
  'now comes from scheduler.now()',
  'now comes from scheduler.now()',
  "Unexpected use of 'setTimeout'. Timers run on the injected SchedulerLike",
  "Unexpected use of 'setInterval'. Timers run on the injected SchedulerLike",
];
const PROMISE = 'export async function f(): Promise<void> {\n  await null;\n}\n';
const PROMISE_MESSAGES = [
  'Ports return Observables; no async functions in the graph',
  'Ports return Observables; no Promise in the graph',
  'Ports return Observables; no await in the graph',
];

const RAW_TIME = [
  'timer', 'interval', 'timeout', 'timeoutWith', 'delay', 'delayWhen', 'observeOn', 'subscribeOn',
  'asyncScheduler', 'asapScheduler', 'animationFrameScheduler',
  'bufferTime', 'debounceTime', 'throttleTime', 'auditTime', 'sampleTime', 'windowTime',
];
const TIME = `// every time-taking rxjs name\nimport { ${RAW_TIME.join(', ')}, map } from 'rxjs';\nexport const x = [${RAW_TIME.join(', ')}, map];\n`;
const TIME_MESSAGES = RAW_TIME.map((name) => `'${name}' falls back to asyncScheduler: use the helpers in src/sources/time.ts, which take the clock`);
const TIME_DELAY = "// repeat and retry with a delay\nimport { repeat, retry, type Observable } from 'rxjs';\nexport const f = (o: Observable<number>, ms: number) => [o.pipe(repeat({ delay: 1_000 })), o.pipe(retry({ count: 3, delay: ms })), o.pipe(repeat({ delay: () => o })), o.pipe(retry(3))];\n";
const TIME_DELAY_MESSAGES = [
  'repeat with a delay that is not a function waits on asyncScheduler: use the helpers in src/sources/time.ts, which take the clock',
  'retry with a delay that is not a function waits on asyncScheduler: use the helpers in src/sources/time.ts, which take the clock',
];

// The layer table (design.md) as import rules: `imports` builds a file that
// imports each source (`type:` for a type-only import) and uses what it got.
const imports = (...sources: string[]): string =>
  sources
    .map((src, i) => (src.startsWith('type:') ? `import type { T${i} } from '${src.slice(5)}';\nexport type U${i} = T${i};\n` : `import { v${i} } from '${src}';\nexport const u${i} = v${i};\n`))
    .join('');
const refused = (source: string, rule: string) => `'${source}' import is restricted from being used by a pattern. ${rule}: design.md's layer table.`;
const LAYER_CASES = [
  { file: 'src/codecs/x.ts', code: imports('./struct', 'io-ts', 'fp-ts/Either', '../trust/rollout-binding', 'rxjs'), expected: [refused('../trust/rollout-binding', 'codecs import no other folder of src'), refused('rxjs', 'codecs import only the packages fp-ts and io-ts')] },
  { file: 'src/reducer/transitions/x.ts', code: imports('../agent', '../../codecs/events', 'fp-ts/Either', 'type:../../ports/store', 'rxjs'), expected: [refused('../../ports/store', 'reducer import only codecs from src'), refused('rxjs', 'reducer import only the packages fp-ts and io-ts')] },
  { file: 'src/ports/x.ts', code: imports('../codecs/policy', 'rxjs', 'type:../reducer/agent', '../io/host'), expected: [refused('../reducer/agent', 'ports import only codecs from src'), refused('../io/host', 'ports import only codecs from src')] },
  { file: 'src/trust/x.ts', code: imports('../codecs/jcs', '../ports/error-text', 'node:crypto', 'rxjs', '../io/manifest-files', 'node:fs'), expected: [refused('../io/manifest-files', 'trust import only codecs and ports from src'), refused('node:fs', 'trust import only the packages fp-ts, io-ts, rxjs and node:crypto')] },
  { file: 'src/sources/x.ts', code: imports('../ports/manifests', 'type:../reducer/agent', 'rxjs', '../trust/errors', '../reducer/agent', 'node:fs'), expected: [refused('../trust/errors', "sources import only codecs, ports and the reducer's types from src"), refused('../reducer/agent', "sources import the reducer's types only"), refused('node:fs', 'sources import only the packages fp-ts, io-ts and rxjs')] },
  { file: 'src/sinks/x.ts', code: imports('../codecs/events', '../ports/logger', 'type:../reducer/agent', '../sources/time', '../reducer/agent'), expected: [refused('../sources/time', "sinks import only codecs, ports and the reducer's types from src"), refused('../reducer/agent', "sinks import the reducer's types only")] },
  { file: 'src/streams/x.ts', code: imports('../sources/heartbeat', '../sinks/applier', '../reducer/agent', '../ports/host', '../io/host', '../trust/errors'), expected: [refused('../io/host', 'streams import only codecs, ports, reducer, sources and sinks from src'), refused('../trust/errors', 'streams import only codecs, ports, reducer, sources and sinks from src')] },
  { file: 'src/io/http/x.ts', code: imports('../probes/http', '../../trust/verify', 'type:../../reducer/agent', 'axios', '../../streams/graph', '../../reducer/agent'), expected: [refused('../../streams/graph', "io import only codecs, ports, trust and the reducer's types from src"), refused('../../reducer/agent', "io import the reducer's types only")] },
  { file: 'src/daemon/x.ts', code: imports('../streams/graph', '../io/host', '../trust/verify', 'node:fs'), expected: [] },
];

const cases: { file: string; code: string; expected: string[] }[] = [
  ...['src/reducer', 'src/sources', 'src/streams', 'src/sinks', 'src/codecs'].map((dir) => ({ file: `${dir}/x.ts`, code: CLOCK, expected: CLOCK_MESSAGES })),
  ...['src/reducer', 'src/sources', 'src/streams', 'src/sinks', 'src/ports'].map((dir) => ({ file: `${dir}/x.ts`, code: PROMISE, expected: PROMISE_MESSAGES })),
  { file: 'src/io/x.ts', code: 'export const a = Date.now();\nexport const c = setTimeout(() => {}, 1);\n', expected: [] },
  { file: 'src/reducer/x.ts', code: 'export const a = new Date(0);\n', expected: [] },
  { file: 'src/codecs/x.ts', code: 'export const a: any = 1;\n', expected: ['Unexpected any. Specify a different type.'] },
  ...['src/sources', 'src/streams', 'src/sinks', 'src/sources/deep'].flatMap((dir) => [
    { file: `${dir}/x.ts`, code: TIME, expected: TIME_MESSAGES },
    { file: `${dir}/x.ts`, code: TIME_DELAY, expected: TIME_DELAY_MESSAGES },
  ]),
  { file: 'src/streams/x.ts', code: "import * as rx from 'rxjs';\nexport const t = rx.timer;\n", expected: ['import rxjs by name, not as a namespace: use the helpers in src/sources/time.ts, which take the clock'] },
  // The one door, and the layers that own real time, may use them.
  ...['src/sources/time.ts', 'src/io/x.ts', 'src/daemon/x.ts'].map((file) => ({ file, code: TIME, expected: [] })),
  ...LAYER_CASES,
];

describe('lint rules', () => {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'support/lint-cases.mjs')], {
    input: JSON.stringify(cases.map(({ file, code }) => ({ file, code }))),
    encoding: 'utf8',
  });
  const results = run.status === 0 ? (JSON.parse(run.stdout) as string[][]) : [];

  it('ran', () => expect([run.status, run.stderr]).toEqual([0, '']));
  it.each(cases.map((c, i) => [c.file, c.code.split('\n')[0], i] as const))('%s: %s', (_file, _code, i) => {
    expect(results[i]).toEqual(cases[i]?.expected);
  });
});

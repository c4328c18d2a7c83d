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

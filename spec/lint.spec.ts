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

const cases: { file: string; code: string; expected: string[] }[] = [
  ...['src/reducer', 'src/sources', 'src/streams', 'src/sinks', 'src/codecs'].map((dir) => ({ file: `${dir}/x.ts`, code: CLOCK, expected: CLOCK_MESSAGES })),
  ...['src/reducer', 'src/sources', 'src/streams', 'src/sinks', 'src/ports'].map((dir) => ({ file: `${dir}/x.ts`, code: PROMISE, expected: PROMISE_MESSAGES })),
  { file: 'src/io/x.ts', code: 'export const a = Date.now();\nexport const c = setTimeout(() => {}, 1);\n', expected: [] },
  { file: 'src/reducer/x.ts', code: 'export const a = new Date(0);\n', expected: [] },
  { file: 'src/codecs/x.ts', code: 'export const a: any = 1;\n', expected: ['Unexpected any. Specify a different type.'] },
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

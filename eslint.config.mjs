// Lint rules that carry design invariants (design.md §2 rule 5, §4):
// no wall clock and no raw timers outside the real adapters in src/io, no `any` in src.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const clockRules = {
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Timers run on the injected SchedulerLike (design §2 rule 5).' },
    { name: 'setInterval', message: 'Timers run on the injected SchedulerLike (design §2 rule 5).' },
    { name: 'setImmediate', message: 'Timers run on the injected SchedulerLike (design §2 rule 5).' },
  ],
  'no-restricted-syntax': [
    'error',
    {
      selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
      message: 'now comes from scheduler.now() (design §2 rule 5).',
    },
    {
      selector: "NewExpression[callee.name='Date'][arguments.length=0]",
      message: 'now comes from scheduler.now() (design §2 rule 5).',
    },
  ],
};

// Time injection (Step 13 item 1): every timer of a source, a stream or a
// sink comes from src/sources/time.ts, whose helpers take the clock as a
// required argument. rxjs's time-taking creators and operators fall back to
// asyncScheduler when the scheduler is left out, and TestScheduler.run
// virtualises that fallback, so no marble spec can see the slip. A plugin rule
// of its own, so it adds to the other blocks' no-restricted-imports and
// no-restricted-syntax instead of replacing them for the same files.
const RAW_TIME = new Set([
  'timer', 'interval', 'timeout', 'timeoutWith', 'delay', 'delayWhen', 'observeOn', 'subscribeOn',
  'asyncScheduler', 'asapScheduler', 'animationFrameScheduler',
  'bufferTime', 'debounceTime', 'throttleTime', 'auditTime', 'sampleTime', 'windowTime',
]);
const TIME_DOOR = 'use the helpers in src/sources/time.ts, which take the clock';
const isFunction = (n) => n.type === 'ArrowFunctionExpression' || n.type === 'FunctionExpression';
const timePlugin = {
  rules: {
    'injected-only': {
      meta: { type: 'problem', schema: [] },
      create: (context) => ({
        ImportDeclaration(node) {
          if (!/^rxjs(\/|$)/.test(node.source.value)) return;
          for (const s of node.specifiers) {
            if (s.type === 'ImportNamespaceSpecifier') context.report({ node: s, message: `import rxjs by name, not as a namespace: ${TIME_DOOR}` });
            const name = s.type === 'ImportSpecifier' ? (s.imported.name ?? s.imported.value) : undefined;
            if (RAW_TIME.has(name)) context.report({ node: s, message: `'${name}' falls back to asyncScheduler: ${TIME_DOOR}` });
          }
        },
        // repeat({ delay: 1000 }) and retry({ delay: 1000 }) wait on asyncScheduler.
        CallExpression(node) {
          if (node.callee.type !== 'Identifier' || (node.callee.name !== 'repeat' && node.callee.name !== 'retry')) return;
          const config = node.arguments[0];
          if (config?.type !== 'ObjectExpression') return;
          const delay = config.properties.find((p) => p.type === 'Property' && p.key.type === 'Identifier' && p.key.name === 'delay');
          if (delay !== undefined && !isFunction(delay.value)) context.report({ node: delay, message: `${node.callee.name} with a delay that is not a function waits on asyncScheduler: ${TIME_DOOR}` });
        },
      }),
    },
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/io/**'],
    rules: clockRules,
  },
  {
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // The graph is tested in virtual time, where a Promise never settles:
    // nothing in the core may create or await one (design §2 invariant 6).
    files: ['src/reducer/**/*.ts', 'src/sources/**/*.ts', 'src/sinks/**/*.ts', 'src/streams/**/*.ts', 'src/ports/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...clockRules['no-restricted-syntax'].slice(1),
        { selector: "Identifier[name='Promise']", message: 'Ports return Observables; no Promise in the graph (design §2 rule 6).' },
        { selector: ':function[async=true]', message: 'Ports return Observables; no async functions in the graph (design §2 rule 6).' },
        { selector: 'AwaitExpression', message: 'Ports return Observables; no await in the graph (design §2 rule 6).' },
      ],
    },
  },
  {
    // Time injection: see timePlugin above.
    files: ['src/sources/**/*.ts', 'src/streams/**/*.ts', 'src/sinks/**/*.ts'],
    ignores: ['src/sources/time.ts'],
    plugins: { time: timePlugin },
    rules: { 'time/injected-only': 'error' },
  },
  {
    files: ['spec/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
  },
);

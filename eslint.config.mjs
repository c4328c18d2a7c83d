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
    files: ['spec/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
  },
);

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
    files: ['spec/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
  },
);

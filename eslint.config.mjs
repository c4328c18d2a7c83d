// Lint rules that carry design invariants (design.md §2 rule 5, §4):
// no wall clock and no raw timers outside the real adapters in src/io, no `any` in src,
// and the layer table as import rules (layerBlocks, at the end).
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
  ...layerBlocks(),
);

// The layer table of design.md as import rules: which folders of src/ each
// layer may import, and which packages. Anything else is refused. A
// typescript-eslint rule of its own, so other blocks' no-restricted-imports
// add to it instead of replacing it. The apps (cli, daemon, demo, devcp, bin)
// and the harnesses (testing) wire everything together and are not listed.
// Honest deviations from the design's table, kept on purpose:
// - sources and sinks read the reducer's types (ReducerInput, AgentEffect):
//   they produce its inputs and consume its effects. Types only.
// - sinks import codecs (the durable envelope is encoded there, before disk).
// - trust reads codecs and ports (the error-text helper); it stays pure
//   verification plus the cache logic behind its store port, so no file,
//   network or process package: its adapters live in src/io.
// - io adapters use trust (verify before decode) and read reducer types
//   (metrics), but never the graph, sources, sinks or the reducer's code.
// `../x` is read as the top-level folder x at any depth: true while no
// subfolder is named like a top-level one.
function layerBlocks() {
  const FOLDERS = ['codecs', 'reducer', 'ports', 'trust', 'sources', 'sinks', 'streams', 'io', 'cli', 'daemon', 'demo', 'devcp', 'bin', 'testing'];
  const PURE = ['fp-ts', 'io-ts'];
  const LAYERS = {
    codecs: { folders: [], packages: PURE },
    reducer: { folders: ['codecs'], packages: PURE },
    ports: { folders: ['codecs'], packages: [...PURE, 'rxjs'] },
    trust: { folders: ['codecs', 'ports'], packages: [...PURE, 'rxjs', 'node:crypto'] },
    sources: { folders: ['codecs', 'ports'], reducerTypes: true, packages: [...PURE, 'rxjs'] },
    sinks: { folders: ['codecs', 'ports'], reducerTypes: true, packages: [...PURE, 'rxjs'] },
    streams: { folders: ['codecs', 'ports', 'reducer', 'sources', 'sinks'], packages: [...PURE, 'rxjs'] },
    io: { folders: ['codecs', 'ports', 'trust'], reducerTypes: true },
  };
  const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const list = (names) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
  const table = "design.md's layer table";
  return Object.entries(LAYERS).map(([layer, may]) => {
    const refused = FOLDERS.filter((f) => f !== layer && !may.folders.includes(f) && !(may.reducerTypes && f === 'reducer'));
    const allowed = [...may.folders, ...(may.reducerTypes ? ["the reducer's types"] : [])];
    const patterns = [
      { regex: `^(\\.\\./)+(${refused.join('|')})(/|$)`, message: allowed.length === 0 ? `${layer} import no other folder of src: ${table}.` : `${layer} import only ${list(allowed)} from src: ${table}.` },
    ];
    if (may.reducerTypes) patterns.push({ regex: '^(\\.\\./)+reducer(/|$)', allowTypeImports: true, message: `${layer} import the reducer's types only: ${table}.` });
    if (may.packages !== undefined) {
      patterns.push({ regex: `^(?!\\.|(${may.packages.map(escape).join('|')})(/|$))`, message: `${layer} import only the packages ${list(may.packages)}: ${table}.` });
    }
    return { files: [`src/${layer}/**/*.ts`], rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } };
  });
}

// README "Embedding": the example between its marker comments, compiled
// against the built package as an installed dependency
// (node_modules/nixfleet-agent → this checkout, resolved through the
// `exports` map) and run as its own process: the rollout converges. `npm
// test` builds first.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');

function example(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- embedding-example:start -->\n```ts\n([\s\S]*?)```\n<!-- embedding-example:end -->/.exec(readme);
  if (m === null) throw new Error('README.md has no embedding example between its markers');
  return m[1] ?? '';
}

function compile(file: string, outDir: string, moduleResolution: ts.ModuleResolutionKind, module: ts.ModuleKind): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module,
    moduleResolution,
    outDir,
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules/@types')],
    skipLibCheck: true,
  });
  const emitted = program.emit();
  return [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('README "Embedding" example', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nixfleet-embedding-'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'nixfleet-agent'), 'dir');
    fs.writeFileSync(path.join(dir, 'example.ts'), example());
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is about ten lines and imports only nixfleet-agent/testing', () => {
    const code = example().trim().split('\n');
    expect(code.length).toBeLessThanOrEqual(12);
    expect(code.filter((l) => l.startsWith('import '))).toEqual(["import { probe, virtualFleet } from 'nixfleet-agent/testing';"]);
  });

  it('type-checks against the built package, through its exports map and through typesVersions', () => {
    expect(compile(path.join(dir, 'example.ts'), path.join(dir, 'out'), ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16)).toEqual([]);
    // Older resolvers ignore `exports`: `typesVersions` points them at the same types.
    expect(compile(path.join(dir, 'example.ts'), path.join(dir, 'out-node10'), ts.ModuleResolutionKind.Node10, ts.ModuleKind.CommonJS)).toEqual([]);
  });

  it('runs as its own process and the rollout converges on every host', () => {
    const run = spawnSync(process.execPath, [path.join(dir, 'out', 'example.js')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({
      converged: true,
      states: { 'web-01': 'Converged', 'web-02': 'Converged', 'db-01': 'Converged' },
      stopped: { 'web-01': 'drained', 'web-02': 'drained', 'db-01': 'drained' },
      // Converged at the CP's soak deadline (5 min after the release), found by 1 s steps.
      virtualSeconds: expect.any(Number),
    });
    expect(JSON.parse(run.stdout.trim()).virtualSeconds).toBeGreaterThanOrEqual(300);
  });
});

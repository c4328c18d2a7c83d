// Shared helpers for the store specs: temp state dirs, a logical clock, a
// recording logger, and a transpiler that turns the store (and the fixture
// scripts) into plain JS for child processes, without a build step.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { AgentStore, type AgentStoreOptions } from '../../src/io/store';
import type { StoreLogger } from '../../src/ports/store';

export const REPO = path.resolve(__dirname, '../..');

export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `nixfleet-${prefix}-`));

/** A logical clock: one second per reading, from a fixed origin. */
export const logicalClock = (origin = Date.UTC(2025, 0, 1)): (() => string) => {
  let n = 0;
  return () => new Date(origin + 1000 * n++).toISOString();
};

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

export const recordingLogger = (): StoreLogger & { readonly lines: LogLine[] } => {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
    lines.push({ level, message, fields });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
};

export const openStore = (
  stateDir: string,
  extra: Partial<AgentStoreOptions> = {},
): { store: AgentStore; log: ReturnType<typeof recordingLogger> } => {
  const log = recordingLogger();
  const store = AgentStore.open({ stateDir, logger: log, clock: logicalClock(), ...extra });
  return { store, log };
};

/**
 * The reducer's part in the store specs: it assigns each event's seq, the
 * store only records it. Counts per rollout from `start` (the last seq seen).
 */
export const sequencer = (start: Readonly<Record<string, number>> = {}): ((rolloutId: string) => number) => {
  const last = new Map<string, number>(Object.entries(start));
  return (rolloutId) => {
    const n = (last.get(rolloutId) ?? 0) + 1;
    last.set(rolloutId, n);
    return n;
  };
};

/** Captures a thrown value so tests can assert on its fields. */
export const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

/**
 * Transpiles the store, its port and the fixture scripts into `outDir`,
 * mirroring the repo layout so relative imports still resolve; bare imports
 * (better-sqlite3) resolve through NODE_PATH. Type checking is tsc's job.
 */
export const transpileForChild = (outDir: string): { env: NodeJS.ProcessEnv; fixture: (name: string) => string } => {
  const inDir = (dir: string) =>
    fs
      .readdirSync(path.join(REPO, dir))
      .filter((n) => n.endsWith('.ts'))
      .map((n) => path.join(dir, n));
  // only the port file of src/ports: the others belong to other modules
  const files = ['src/ports/store.ts', 'src/ports/error-text.ts', ...inDir('src/io/store'), ...inDir('spec/store/fixtures')];
  for (const file of files) {
    const out = ts.transpileModule(fs.readFileSync(path.join(REPO, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    const target = path.join(outDir, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, out.outputText, { mode: 0o644 });
  }
  fs.chmodSync(outDir, 0o755);
  return {
    env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
    fixture: (name) => path.join(outDir, 'spec/store/fixtures', `${name}.js`),
  };
};

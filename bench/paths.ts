// Where the bench finds the repository and the test vectors (spec/vectors), from the
// source tree (bench/) or from its compiled copy (node_modules/.cache/nixfleet-bench/bench/).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root: the nearest directory above this file with nixfleet-agent's package.json. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nixfleet-agent') return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** The test vectors copied into the repository (spec/vectors); undefined when absent (a packed copy). */
export function vectorsDir(): string | undefined {
  const dir = path.resolve(repoRoot(), 'spec/vectors');
  return fs.existsSync(dir) ? dir : undefined;
}

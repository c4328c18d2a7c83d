// Where the bench finds the repository and the shared test vectors, from the
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

/** ../shared beside the repository (as CI has it), or $NIXFLEET_SHARED; undefined when absent. */
export function sharedDir(): string | undefined {
  const dir = process.env['NIXFLEET_SHARED'] ?? path.resolve(repoRoot(), '../shared');
  return fs.existsSync(dir) ? dir : undefined;
}

// What `npm pack` ships: the demo runs from the installed package (its bin,
// the built code and the stand-in host tools), and nothing else comes along.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');

interface Packed {
  readonly files: readonly { readonly path: string; readonly mode: number }[];
}

describe('the packed package', () => {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [packed] = JSON.parse(json) as Packed[];
  const files = new Map((packed?.files ?? []).map((f) => [f.path, f.mode]));
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; main: string; types: string };

  it('ships every bin (an executable node script), the library entry points and its types', () => {
    expect(Object.keys(pkg.bin).sort()).toEqual(['nixfleet-agent', 'nixfleet-agent-demo']);
    for (const target of [...Object.values(pkg.bin), pkg.main, pkg.types]) expect(files.has(target)).toBe(true);
    for (const bin of Object.values(pkg.bin)) expect(fs.readFileSync(path.join(ROOT, bin), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('ships every stand-in host tool the demo copies into its host trees, executable', () => {
    const tools = fs.readdirSync(path.join(ROOT, 'demo/host-tools')).filter((f) => f !== 'README.md');
    expect(tools.length).toBeGreaterThanOrEqual(5);
    for (const tool of tools) expect(files.get(`demo/host-tools/${tool}`)?.toString(8)).toBe('755');
  });

  it('ships nothing else: no sources, specs, source maps or repository files', () => {
    const stray = [...files.keys()].filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f) && !f.startsWith('demo/host-tools/') && !['package.json', 'README.md', 'LICENSE'].includes(f));
    expect(stray).toEqual([]);
    expect(files.has('demo/host-tools/README.md')).toBe(false);
  });
});

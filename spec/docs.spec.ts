// The README and docs/ stand alone: no links into material outside the
// repository and none of its internal labels (section numbers, point
// numbers, review finding ids). And the README's dependency tables and
// install-script list say exactly what package.json and node_modules do.
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const LABELS: readonly [string, RegExp][] = [
  ['a section sign', /§/],
  ['an UNCERTAIN point', /UNCERTAIN/],
  ['a path outside the repository', /\.\.\/shared|(^|[^\w/])shared\/(reference|findings|design)/],
  ['a private reference file', /agent-runtime\.md|state-machine\.md|wire-protocol|trust-and-signing|reference\/|design\.md/],
  ['the design brief or card', /design (brief|card)/i],
  ['a review or audit finding id', /\b(review|audit) [A-Z][0-9]+\b/],
];

interface Pkg {
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
  readonly allowScripts: Record<string, boolean>;
}
const pkg = JSON.parse(read('package.json')) as Pkg;

/** `| \`name\` | version | … |` rows of the README table whose header starts with `title`. */
function table(readme: string, title: string): Record<string, string> {
  const start = readme.indexOf(`| ${title} |`);
  if (start < 0) return {};
  const rows = readme.slice(start).split('\n').slice(2);
  const out: Record<string, string> = {};
  for (const row of rows) {
    const m = /^\| `([^`]+)` \| ([^ |]+) \|/.exec(row);
    if (m === null) break;
    out[m[1] ?? ''] = m[2] ?? '';
  }
  return out;
}

// npm's rule: install, preinstall or postinstall, or a binding.gyp with neither of the first two (then `node-gyp rebuild`).
function installScripted(dir: string, found = new Set<string>()): Set<string> {
  for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (entry.startsWith('.')) continue;
    const pkgDirs = entry.startsWith('@') ? fs.readdirSync(path.join(dir, entry)).map((e) => path.join(dir, entry, e)) : [path.join(dir, entry)];
    for (const pkgDir of pkgDirs) {
      const file = path.join(pkgDir, 'package.json');
      if (!fs.existsSync(file)) continue;
      const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; scripts?: Record<string, string> };
      const s = p.scripts ?? {};
      if (s['install'] !== undefined || s['preinstall'] !== undefined || s['postinstall'] !== undefined || fs.existsSync(path.join(pkgDir, 'binding.gyp'))) found.add(p.name);
      installScripted(path.join(pkgDir, 'node_modules'), found);
    }
  }
  return found;
}

describe('the docs stand alone', () => {
  it.each(LABELS)('%s: none in README.md or docs/*.md', (_what, pattern) => {
    const hits = DOCS.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim().slice(0, 100)}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('the label patterns catch what they are for', () => {
    const caught = (text: string) => LABELS.some(([, p]) => p.test(text));
    // The outside path is assembled so that this spec holds no such path itself.
    const outside = `see ${['..', 'shared', 'design.md'].join('/')}`;
    for (const text of ['(§18 item 16)', 'UNCERTAIN 14', outside, 'reference agent-runtime.md', '(review H2)', 'audit B5', 'design brief §3', 'state-machine §15'])
      expect([text, caught(text)]).toEqual([text, true]);
    for (const text of ['the shared mirror', 'security review', 'audit log', 'reference emitter']) expect([text, caught(text)]).toEqual([text, false]);
  });
});

describe("the README's dependency list", () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Dependencies'));

  it('lists every runtime dependency, and only those, at its pinned version', () => {
    expect(table(section, 'Runtime')).toEqual(pkg.dependencies);
  });

  it('lists every development dependency, and only those, at its pinned version', () => {
    expect(table(section, 'Development')).toEqual(pkg.devDependencies);
  });

  it('lists allowScripts as it is: allowed yes or no', () => {
    const listed = table(section, 'Install script');
    expect(listed).toEqual(Object.fromEntries(Object.entries(pkg.allowScripts).map(([name, allow]) => [name, allow ? 'yes' : 'no'])));
  });

  it('allowScripts decides for every installed package that has an install script', () => {
    expect([...installScripted(path.join(ROOT, 'node_modules'))].sort()).toEqual(Object.keys(pkg.allowScripts).sort());
  });
});

describe('docs/compatibility.md', () => {
  const root = path.resolve(__dirname, '..');
  const specFiles = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? specFiles(path.join(dir, e.name)) : e.name.endsWith('.spec.ts') ? [path.relative(root, path.join(dir, e.name))] : []));
  const all = specFiles(path.join(root, 'spec'));
  // Table rows whose first cell is a row number (`| 29 |`, `| 17a |`, `| S3b |`).
  const rows = fs
    .readFileSync(path.join(root, 'docs/compatibility.md'), 'utf8')
    .split('\n')
    .filter((l) => /^\| (S?[0-9]+[a-z]?) \|/.test(l))
    .map((l) => {
      const cells = l.split(/(?<!\\)\|/).map((c) => c.trim());
      return { id: cells[1] ?? '', pinnedBy: cells[cells.length - 2] ?? '' };
    });

  it('numbers every row once', () => {
    const ids = rows.map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(rows.length).toBeGreaterThan(100);
  });

  it.each(rows.map((r) => [r.id, r.pinnedBy] as const))('row %s is pinned by spec files that exist', (_id, pinnedBy) => {
    // `spec/x/y.spec.ts`, or a bare `y.spec.ts` that names one file under spec/, or a `spec/<dir>` of specs.
    const named = [...pinnedBy.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((n) => n.startsWith('spec/') || n.endsWith('.spec.ts'));
    expect(named.length).toBeGreaterThan(0);
    for (const n of named) {
      const found = n.startsWith('spec/') ? fs.existsSync(path.join(root, n.split(' ')[0] ?? n)) : all.filter((f) => f.endsWith(`/${n}`)).length === 1;
      expect([n, found]).toEqual([n, true]);
    }
  });
});


// Lints code snippets as if they lived at given paths and prints each
// result's messages as JSON. Runs outside jest, whose VM cannot load the
// flat config (an ES module). Input: JSON [{ file, code }] on stdin.
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });
const cases = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const c of cases) {
  const [result] = await eslint.lintText(c.code, { filePath: path.join(root, c.file) });
  out.push(result.messages.map((m) => m.message.split(' (')[0]));
}
process.stdout.write(JSON.stringify(out));

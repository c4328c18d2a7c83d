// Paths to the test vectors in spec/vectors (copied into the repo; see its README).
import * as fs from 'fs';
import * as path from 'path';

export const VECTORS = path.resolve(__dirname, '../vectors');

export function readVector(rel: string): string {
  return fs.readFileSync(path.join(VECTORS, rel), 'utf8');
}

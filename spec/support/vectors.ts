// Paths to the shared, read-only test vectors (../shared beside the repo, as CI has it).
import * as fs from 'fs';
import * as path from 'path';

export const VECTORS = path.resolve(__dirname, '../../../shared/vectors');

export function readVector(rel: string): string {
  return fs.readFileSync(path.join(VECTORS, rel), 'utf8');
}

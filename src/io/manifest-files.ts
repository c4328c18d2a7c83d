// The files behind manifest verification: the cache of verified artifacts
// (src/trust/manifest-cache.ts's store port) and the trust file. Unlike
// upstream's plain `fs::write`, a cached file is replaced by the one atomic
// writer (src/io/enroll/atomic-write.ts: random temp name created
// exclusively, mode 0600, fsync, rename, directory fsync) so a crash never
// leaves half a manifest and a planted symlink is never followed; every cache
// directory is 0700 whatever the umask.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import type { Observable } from 'rxjs';
import { parseTrustConfig, type TrustConfig } from '../codecs/trust-config';
import type { ManifestCacheStore } from '../trust/manifest-cache';
import { PRIVATE_FILE_MODE, writeFileAtomic } from './enroll/atomic-write';
import { fromWork } from './from-work';

const isNotFound = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';

const PRIVATE_DIR_MODE = 0o700;

/** `rel` under `root`; a path that leaves it (a rollout id is free text from the CP) is refused. */
function inside(root: string, rel: string): string {
  const file = path.resolve(root, rel);
  const back = path.relative(path.resolve(root), file);
  if (back === '' || back.startsWith('..') || path.isAbsolute(back)) throw new Error(`manifest cache path ${JSON.stringify(rel)} leaves the state dir`);
  return file;
}

/** Creates each directory between `root` and `dir` 0700, tightening ones an older agent made 0755. */
async function privateDirs(root: string, dir: string): Promise<void> {
  await fs.mkdir(root, { recursive: true, mode: PRIVATE_DIR_MODE });
  let at = root;
  for (const part of path.relative(root, dir).split(path.sep).filter((p) => p !== '')) {
    at = path.join(at, part);
    await fs.mkdir(at, { mode: PRIVATE_DIR_MODE }).catch((e: unknown) => {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
    });
    // mkdir's mode is masked by the umask, and an existing dir keeps its old one
    await fs.chmod(at, PRIVATE_DIR_MODE);
  }
}

/** The cache rooted at the agent state dir (`rollouts/…`, `fleet/…`). */
export function fsManifestCacheStore(stateDir: string): ManifestCacheStore {
  return {
    read: (rel) =>
      fromWork(async (signal) => {
        try {
          return new Uint8Array(await fs.readFile(inside(stateDir, rel), { signal }));
        } catch (e) {
          if (isNotFound(e)) return null;
          throw e;
        }
      }),
    write: (rel, bytes) =>
      fromWork(async () => {
        const file = inside(stateDir, rel);
        await privateDirs(path.resolve(stateDir), path.dirname(file));
        await writeFileAtomic(file, bytes, PRIVATE_FILE_MODE);
      }),
  };
}

/** Reads and parses trust.json on every subscription; a bad file is an error carrying the parse message. */
export function readTrustFile(file: string): Observable<TrustConfig> {
  return fromWork(async (signal) => {
    const parsed = parseTrustConfig(new Uint8Array(await fs.readFile(file, { signal })));
    if (E.isLeft(parsed)) throw new Error(`parse trust file ${file}: ${parsed.left.message}`);
    return parsed.right;
  });
}

// Node file-system adapters for the manifest cache and the trust file. Unlike
// upstream's plain `fs::write`, a cached file is replaced atomically (temp
// file, fsync, rename, directory fsync) so a crash never leaves half a manifest.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { Observable } from 'rxjs';
import { parseTrustConfig, type TrustConfig } from '../codecs/trust-config';
import type { ManifestCacheStore } from './manifest-cache';

/** Runs `work` on subscribe; emits its result once; unsubscribing aborts a read in flight. */
function fromWork<A>(work: (signal: AbortSignal) => Promise<A>): Observable<A> {
  return new Observable<A>((sub) => {
    const ac = new AbortController();
    work(ac.signal).then(
      (a) => {
        sub.next(a);
        sub.complete();
      },
      (e: unknown) => {
        if (!ac.signal.aborted) sub.error(e);
      },
    );
    return () => ac.abort();
  });
}

const isNotFound = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';

let tmpCounter = 0;

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  try {
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** The cache rooted at the agent state dir (`rollouts/…`, `fleet/…`). */
export function fsManifestCacheStore(stateDir: string): ManifestCacheStore {
  return {
    read: (rel) =>
      fromWork(async (signal) => {
        try {
          return new Uint8Array(await fs.readFile(path.join(stateDir, rel), { signal }));
        } catch (e) {
          if (isNotFound(e)) return null;
          throw e;
        }
      }),
    write: (rel, bytes) => fromWork(() => writeAtomically(path.join(stateDir, rel), bytes)),
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

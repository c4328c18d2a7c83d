// The one atomic file writer (the client certificate, the manifest cache,
// the dev CP's files). Upstream writes `.<name>-tmp` and renames without
// fsync (reference agent-runtime §2.3); here the temp file has a random name,
// is created exclusively (a planted symlink is never followed), is fsynced
// before the rename and the directory after it, so after a power cut the path
// holds either the old or the new content, never a torn or empty one. The
// mode is the caller's, always spelled out, and set on the temp file before
// any byte is written, so the content is never visible with looser permissions.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Observable } from 'rxjs';
import { fromWork } from '../from-work';

/** Owner read/write: the certificate, the manifest cache, keys and tokens. */
export const PRIVATE_FILE_MODE = 0o600;

export async function writeFileAtomic(file: string, data: Uint8Array | string, mode: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}-tmp-${randomBytes(6).toString('hex')}`);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    try {
      await handle.chmod(mode); // the umask may have narrowed it; never widened
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** Cold: writes on subscribe. Unsubscribing does not interrupt a write in progress (it is short and atomic). */
export const writeAtomic = (file: string, data: Uint8Array | string, mode: number): Observable<void> => fromWork(() => writeFileAtomic(file, data, mode));

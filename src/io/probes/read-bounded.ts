// File reads with a size cap (design §2 rule 4) that stop when unsubscribed.
import { promises as fs } from 'node:fs';
import type { Observable } from 'rxjs';
import { fromWork } from '../from-work';

export class FileTooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super(`${path} is larger than ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/** The whole file, or an error (ENOENT, EACCES, FileTooLargeError, ...). */
export function readBounded(path: string, maxBytes: number): Observable<Buffer> {
  return fromWork(async (signal) => {
    const handle = await fs.open(path, 'r');
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      // Unsubscribed: stop between chunks; fromWork drops the result.
      while (!signal.aborted) {
        const buf = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - size));
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return Buffer.concat(chunks, size);
        chunks.push(buf.subarray(0, bytesRead));
        size += bytesRead;
        if (size > maxBytes) throw new FileTooLargeError(path, maxBytes);
      }
      return Buffer.alloc(0);
    } finally {
      await handle.close();
    }
  });
}

export const isNotFound = (err: unknown): boolean => (err as { code?: unknown }).code === 'ENOENT';

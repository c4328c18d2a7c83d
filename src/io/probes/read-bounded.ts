// File reads with a size cap (design §2 rule 4) that stop when unsubscribed.
import { promises as fs } from 'node:fs';
import { Observable } from 'rxjs';

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
  return new Observable<Buffer>((subscriber) => {
    let cancelled = false;
    const go = async (): Promise<Buffer> => {
      const handle = await fs.open(path, 'r');
      try {
        const chunks: Buffer[] = [];
        let size = 0;
        for (;;) {
          if (cancelled) return Buffer.alloc(0);
          const buf = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - size));
          const { bytesRead } = await handle.read(buf, 0, buf.length, null);
          if (bytesRead === 0) return Buffer.concat(chunks, size);
          chunks.push(buf.subarray(0, bytesRead));
          size += bytesRead;
          if (size > maxBytes) throw new FileTooLargeError(path, maxBytes);
        }
      } finally {
        await handle.close();
      }
    };
    go().then(
      (b) => {
        subscriber.next(b);
        subscriber.complete();
      },
      (e: unknown) => subscriber.error(e),
    );
    return () => {
      cancelled = true;
    };
  });
}

export const isNotFound = (err: unknown): boolean => (err as { code?: unknown }).code === 'ENOENT';

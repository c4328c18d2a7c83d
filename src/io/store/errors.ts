// Maps whatever SQLite or the file system threw to a typed StoreError, so the
// caller branches on `code` and nothing below the port ever crashes the agent.
import { errorMessage } from '../../ports/error-text';
import { StoreError, isStoreError, type StoreErrorCode } from '../../ports/store';

const codeOf = (e: unknown): string | undefined => {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code: unknown = e.code;
  return typeof code === 'string' ? code : undefined;
};

export const classifyCode = (code: string | undefined, message: string): StoreErrorCode => {
  if (code === undefined) {
    // better-sqlite3 throws a plain TypeError after close()
    return /connection is not open/.test(message) ? 'closed' : 'io';
  }
  // SQLite reports ENOSPC on write as SQLITE_FULL; max_page_count does too.
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'disk-full';
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') return 'read-only';
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read-only';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  return 'io';
};

/** Wraps any thrown value; StoreErrors pass through unchanged. */
export const toStoreError = (e: unknown, doing: string): StoreError => {
  if (isStoreError(e)) return e;
  const message = errorMessage(e);
  const code = codeOf(e);
  return new StoreError(classifyCode(code, message), `${doing}: ${code ?? 'error'}: ${message}`, {
    cause: e,
  });
};

/** Runs `f`, rethrowing any failure as a StoreError. */
export const guarded = <T>(doing: string, f: () => T): T => {
  try {
    return f();
  } catch (e) {
    throw toStoreError(e, doing);
  }
};

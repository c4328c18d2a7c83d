// Reading health-checks.json (reference §8.7 step 3, §10.1). A missing file
// is no declarations at all (the Observable completes without a value: as
// upstream, no topology is declared and no probe runs); `{}` is an empty
// set; an unreadable or refused file is an error carrying a readable reason,
// so the graph decides what a bad file means.
import * as E from 'fp-ts/Either';
import { catchError, defer, EMPTY, map, of, throwError, type Observable } from 'rxjs';
import { decodeJson, type DecodeError } from '../../codecs/decode';
import { HealthChecks, ProbeEntry } from '../../codecs/health-checks';
import { decodeUtf8 } from '../../codecs/jcs';
import type { ProbeDeclaration } from '../../ports/probes';
import { errorMessage } from '../../ports/error-text';
import type { ProbeConfig } from './config';
import { isNotFound, readBounded } from './read-bounded';

export class ProbeDeclarationsError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly decodeError?: DecodeError,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ProbeDeclarationsError';
  }
}

/** Declarations in file order; `spec` is the decoded entry, defaults filled in. */
export function toDeclarations(checks: HealthChecks): ProbeDeclaration[] {
  return Object.entries(checks).map(([name, entry]) => ({
    name,
    kind: entry.kind,
    mode: entry.mode,
    intervalSeconds: entry.intervalSeconds,
    runOnce: entry.runOnce,
    spec: ProbeEntry.encode(entry),
  }));
}

export function parseHealthChecks(bytes: Uint8Array, path: string): E.Either<ProbeDeclarationsError, ProbeDeclaration[]> {
  const text = decodeUtf8(bytes);
  if (E.isLeft(text)) return E.left(new ProbeDeclarationsError(path, text.left.message));
  const decoded = decodeJson(HealthChecks, text.right);
  if (E.isLeft(decoded)) return E.left(new ProbeDeclarationsError(path, decoded.left.message, decoded.left));
  return E.right(toDeclarations(decoded.right));
}

export function readDeclarations(cfg: ProbeConfig): Observable<readonly ProbeDeclaration[]> {
  return defer((): Observable<readonly ProbeDeclaration[]> => {
    if (cfg.testMode()) return of([]);
    const file = cfg.healthChecksPath;
    return readBounded(file, cfg.maxHealthChecksBytes).pipe(
      catchError((err: unknown) => {
        if (isNotFound(err)) {
          cfg.logger.info('probes: no declarations file; no topology declared, no probes run', { path: file });
          return EMPTY;
        }
        return throwError(() => new ProbeDeclarationsError(file, errorMessage(err)));
      }),
      map((bytes) => {
        const parsed = parseHealthChecks(bytes, file);
        if (E.isLeft(parsed)) throw parsed.left;
        return parsed.right;
      }),
    );
  });
}

// @peculiar/x509 (with reflect-metadata, which its dependency injection
// needs first) costs more start-up time than the rest of the daemon's
// modules put together, so it is loaded on first use. Only CSRs (enrollment,
// renewal) use it; certificates are read with node:crypto (cert-info.ts).
import type * as X509 from '@peculiar/x509';

let loaded: typeof X509 | undefined;

export function x509(): typeof X509 {
  if (loaded === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('reflect-metadata');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('@peculiar/x509') as typeof X509;
  }
  return loaded;
}

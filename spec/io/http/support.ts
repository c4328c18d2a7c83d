// Shared fixture for the HTTP specs: one CA, a loopback server with mTLS, a
// host key and a client certificate for it, and a client wired to them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCpClient, type CpClient, type CpClientConfig } from '../../../src/io/http/client';
import type { CpError } from '../../../src/ports/control-plane';
import { ts } from '../../support/decode';
import type { Fields, Logger } from '../../../src/ports/logger';
import { createCa, issueClientCert, issueServerCert, makeHostKey, type IssuedCert, type KeyedCert, type TestCa, type TestHostKey } from '../../support/pki';
import { startTlsServer, type TlsServerOptions, type TlsTestServer } from '../../support/tls-server';

export interface Pki {
  readonly ca: TestCa;
  readonly server: KeyedCert;
  readonly hostKey: TestHostKey;
  readonly clientCert: IssuedCert;
}

let shared: Promise<Pki> | undefined;

/** Minted once per test file (key generation is the slow part). */
export function pki(): Promise<Pki> {
  shared ??= (async () => {
    const ca = await createCa();
    const server = await issueServerCert(ca);
    const hostKey = makeHostKey();
    const clientCert = await issueClientCert(ca, { cn: 'web-01', publicRaw: hostKey.publicRaw });
    return { ca, server, hostKey, clientCert };
  })();
  return shared;
}

export async function server(p: Pki, options: Partial<TlsServerOptions> = {}): Promise<TlsTestServer> {
  return startTlsServer({ clientCa: p.ca, server: p.server, ...options });
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Fields | undefined;
}

export function memoryLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (message: string, fields?: Fields) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function client(p: Pki, srv: TlsTestServer, extra: Partial<CpClientConfig> = {}): CpClient {
  return createCpClient({
    baseUrl: srv.url + '/',
    tls: { ca: p.ca.certPem, cert: p.clientCert.certPem, key: p.hostKey.pkcs8Pem },
    ...extra,
  });
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nixfleet-${name}-`));
}

/** Node reports serials in uppercase hex without leading zeros. */
export const nodeSerial = (hex: string): string => hex.replace(/^0+/, '').toUpperCase();

/** The CpError a call failed with; a value instead fails the spec. */
export const failure = (p: Promise<unknown>): Promise<CpError> =>
  p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as CpError,
  );

/** A heartbeat body for web-01. */
export const beat = { hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') };

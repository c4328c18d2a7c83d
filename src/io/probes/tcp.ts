// TCP probe (reference §10.3): passes iff a connection opens within
// `connectTimeoutSecs`; the socket is closed at once.
import * as net from 'node:net';
import { Observable, of, timeout } from 'rxjs';
import type { ProbeEntry } from '../../codecs/health-checks';
import type { ProbeRunResult } from '../../ports/probes';
import type { ProbeConfig } from './config';
import { fail, pass } from './reason';

export function runTcp(entry: ProbeEntry, cfg: ProbeConfig): Observable<ProbeRunResult> {
  const port = entry.port;
  if (port === undefined) return of(fail('tcp probe: port missing'));
  const host = entry.host ?? '127.0.0.1';
  const addr = `${host}:${port}`;
  const secs = entry.connectTimeoutSecs;
  return new Observable<ProbeRunResult>((subscriber) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      subscriber.next(pass());
      subscriber.complete();
    });
    socket.once('error', (err) => {
      subscriber.next(fail(`tcp probe: connect ${addr}: ${err.message}`));
      subscriber.complete();
    });
    return () => socket.destroy();
  }).pipe(timeout({ first: secs * 1000, scheduler: cfg.scheduler, with: () => of(fail(`tcp probe: connect ${addr} timed out after ${secs}s`)) }));
}

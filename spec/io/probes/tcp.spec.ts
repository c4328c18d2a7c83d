// The tcp runner against a real loopback listener; its connect timeout in
// virtual time (a loopback connect cannot be made to hang portably).
import * as net from 'node:net';
import { firstValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createProbeAdapter } from '../../../src/io/probes';
import { declare, listen, runOnce, type Loopback } from './support';

describe('tcp probe', () => {
  let srv: Loopback<net.Server>;
  let accepted = 0;
  beforeEach(async () => {
    accepted = 0;
    srv = await listen(net.createServer((s) => (accepted++, s.end())));
  });
  afterEach(() => srv.close());

  it('passes when a connection opens, and closes it', async () => {
    expect(await runOnce(declare({ kind: 'tcp', mode: 'enforce', host: '127.0.0.1', port: srv.port }))).toEqual({ status: 'pass' });
    expect(accepted).toBe(1);
  });

  it('defaults the host to 127.0.0.1', async () => {
    expect((await runOnce(declare({ kind: 'tcp', mode: 'enforce', port: srv.port }))).status).toBe('pass');
  });

  it('fails on a refused connection, naming the address', async () => {
    const port = srv.port;
    await srv.close();
    srv = await listen(net.createServer());
    const r = await runOnce(declare({ kind: 'tcp', mode: 'enforce', port }));
    expect(r).toEqual({ status: 'fail', failureReason: expect.stringMatching(new RegExp(`^tcp probe: connect 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`)) });
  });

  it('fails without a port', async () => {
    expect(await runOnce(declare({ kind: 'tcp', mode: 'enforce' }))).toEqual({ status: 'fail', failureReason: 'tcp probe: port missing' });
  });

  it('flaps with its target', async () => {
    const port = srv.port;
    const adapter = createProbeAdapter();
    const probe = declare({ kind: 'tcp', mode: 'enforce', port });
    const up = (await firstValueFrom(adapter.run(probe))).status;
    await srv.close();
    const down = (await firstValueFrom(adapter.run(probe))).status;
    srv = await listen(net.createServer().listen(port, '127.0.0.1'));
    expect([up, down]).toEqual(['pass', 'fail']);
  });

  it('times out on the injected scheduler after connectTimeoutSecs', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ expectObservable }) => {
      const adapter = createProbeAdapter({ scheduler: ts });
      const r$ = adapter.run(declare({ kind: 'tcp', mode: 'enforce', port: srv.port, connectTimeoutSecs: 3 }));
      expectObservable(r$).toBe('3000ms (a|)', { a: { status: 'fail', failureReason: `tcp probe: connect 127.0.0.1:${srv.port} timed out after 3s` } });
    });
  });
});

// Reading health-checks.json from disk: missing → nothing declared, bad → an error
// naming the file, the path in it and the reason; test mode reads nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { createProbeAdapter, ProbeDeclarationsError } from '../../../src/io/probes';
import { tempDir } from './support';

let dir: string;
let file: string;
beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'health-checks.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const declarations = (extra: Parameters<typeof createProbeAdapter>[0] = {}) =>
  firstValueFrom(createProbeAdapter({ healthChecksPath: file, testMode: () => false, ...extra }).declarations());

const failure = async (extra: Parameters<typeof createProbeAdapter>[0] = {}): Promise<ProbeDeclarationsError> => {
  try {
    await declarations(extra);
  } catch (e) {
    expect(e).toBeInstanceOf(ProbeDeclarationsError);
    return e as ProbeDeclarationsError;
  }
  throw new Error('expected an error');
};

describe('probe declarations', () => {
  it('declares nothing when the file is missing (as upstream: no topology, no probes); `{}` is an empty set', async () => {
    const adapter = createProbeAdapter({ healthChecksPath: file, testMode: () => false });
    expect(await lastValueFrom(adapter.declarations().pipe(toArray()))).toEqual([]);
    fs.writeFileSync(file, '{}');
    expect(await lastValueFrom(adapter.declarations().pipe(toArray()))).toEqual([[]]);
  });

  it('lists every probe with its kind, mode, interval and decoded settings, disabled ones included', async () => {
    fs.writeFileSync(
      file,
      JSON.stringify({
        web: { kind: 'http', mode: 'enforce', url: 'http://127.0.0.1/health', intervalSeconds: 15 },
        db: { kind: 'tcp', mode: 'observe', port: 5432, runOnce: true },
        off: { kind: 'exec', mode: 'disabled', command: ['true'] },
      }),
    );
    const ds = await declarations();
    expect(ds.map((d) => [d.name, d.kind, d.mode, d.intervalSeconds, d.runOnce])).toEqual([
      ['web', 'http', 'enforce', 15, false],
      ['db', 'tcp', 'observe', 30, true],
      ['off', 'exec', 'disabled', 30, false],
    ]);
    expect(ds[0]?.spec).toMatchObject({ url: 'http://127.0.0.1/health', expectStatus: 200, timeoutSecs: 10 });
  });

  it.each<[string, string, RegExp]>([
    ['an unknown kind', JSON.stringify({ p: { kind: 'icmp', mode: 'enforce' } }), /\$\.p\.kind: expected one of/],
    ['a negative interval', JSON.stringify({ p: { kind: 'tcp', mode: 'enforce', port: 1, intervalSeconds: -30 } }), /\$\.p\.intervalSeconds: expected an integer in \[0, /],
    ['malformed JSON', '{"p": ', /\$: malformed JSON/],
    ['a byte-order mark', '\uFEFF{}', /malformed JSON/],
    ['invalid UTF-8', '\xff', /not valid UTF-8/],
  ])('refuses %s, naming the file', async (_what, text, reason) => {
    fs.writeFileSync(file, _what === 'invalid UTF-8' ? Buffer.from([0xff]) : text);
    const e = await failure();
    expect(e.message.startsWith(`${file}: `)).toBe(true);
    expect(e.message).toMatch(reason);
  });

  it('keeps the structured issues of a refused file', async () => {
    fs.writeFileSync(file, JSON.stringify({ p: { kind: 'icmp', mode: 'enforce' } }));
    expect((await failure()).decodeError?.issues).toEqual([{ path: '$.p.kind', reason: 'expected one of "http", "tcp", "exec", "evidence"' }]);
  });

  it('refuses a file above the size cap', async () => {
    fs.writeFileSync(file, JSON.stringify({ p: { kind: 'tcp', mode: 'enforce', port: 1, pad: 'x'.repeat(2000) } }));
    expect((await failure({ maxHealthChecksBytes: 1024 })).message).toMatch(/larger than 1024 bytes/);
  });

  it('reports an unreadable file as an error, not as "no probes"', async () => {
    fs.mkdirSync(file);
    expect((await failure()).message).toMatch(/EISDIR/);
  });

  it('reads nothing in test mode (NIXFLEET_AGENT_PROBE_TEST_MODE)', async () => {
    fs.writeFileSync(file, 'not json');
    expect(await declarations({ testMode: () => true })).toEqual([]);
  });

  it('honours the environment variable by default, on every call', async () => {
    fs.writeFileSync(file, 'not json');
    const adapter = createProbeAdapter({ healthChecksPath: file });
    const before = process.env['NIXFLEET_AGENT_PROBE_TEST_MODE'];
    try {
      process.env['NIXFLEET_AGENT_PROBE_TEST_MODE'] = '';
      expect(await firstValueFrom(adapter.declarations())).toEqual([]);
      delete process.env['NIXFLEET_AGENT_PROBE_TEST_MODE'];
      await expect(firstValueFrom(adapter.declarations())).rejects.toBeInstanceOf(ProbeDeclarationsError);
    } finally {
      if (before === undefined) delete process.env['NIXFLEET_AGENT_PROBE_TEST_MODE'];
      else process.env['NIXFLEET_AGENT_PROBE_TEST_MODE'] = before;
    }
  });
});

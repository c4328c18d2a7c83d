// health-checks.json (reference §10.1): upstream's field names and defaults,
// unknown keys dropped, and malformed declarations refused with a path and
// a reason a person can act on.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { decodeJson, decodeWith } from '../../src/codecs/decode';
import { HealthChecks, PROBE_KINDS, ProbeEntry } from '../../src/codecs/health-checks';

const decode = (u: unknown) => decodeWith(HealthChecks, u);

const refused = (u: unknown): string => {
  const r = decode(u);
  if (E.isRight(r)) throw new Error(`accepted ${JSON.stringify(u)}`);
  return r.left.message;
};

describe('HealthChecks codec', () => {
  it('fills in upstream defaults', () => {
    const r = decode({ web: { kind: 'http', mode: 'enforce', url: 'http://127.0.0.1/health' } });
    expect(r).toEqual(
      E.right({
        web: {
          kind: 'http',
          mode: 'enforce',
          intervalSeconds: 30,
          runOnce: false,
          url: 'http://127.0.0.1/health',
          expectStatus: 200,
          connectTimeoutSecs: 5,
          command: [],
          timeoutSecs: 10,
          evidencePath: '/var/lib/nixfleet-compliance/evidence.json',
          controlOverrides: {},
          controls: {},
          tlsSkipVerify: false,
        },
      }),
    );
  });

  it('reads every kind with its fields, and keeps probe order', () => {
    const file = {
      zeta: { kind: 'tcp', mode: 'observe', host: '127.0.0.1', port: 5432, connectTimeoutSecs: 2 },
      alpha: { kind: 'exec', mode: 'enforce', command: ['/run/current-system/sw/bin/true'], timeoutSecs: 3, runOnce: true },
      nis2: { kind: 'evidence', mode: 'enforce', framework: 'nis2-essential', controlOverrides: { 'access-control': { mode: 'observe', reason: 'Q2' } } },
      off: { kind: 'http', mode: 'disabled', url: 'https://127.0.0.1/', bodyContains: 'ok', tlsCaFile: '/etc/ca.pem' },
    };
    const r = decode(file);
    expect(E.isRight(r) && Object.keys(r.right)).toEqual(['zeta', 'alpha', 'nis2', 'off']);
    expect(E.isRight(r) && r.right['nis2']?.controlOverrides).toEqual({ 'access-control': { mode: 'observe', reason: 'Q2' } });
  });

  it('drops unknown keys, as serde does', () => {
    const r = decode({ p: { kind: 'exec', mode: 'enforce', command: ['true'], expectExitCode: 1, future: { x: 1 } } });
    expect(E.isRight(r) && Object.keys(r.right['p'] ?? {})).not.toContain('expectExitCode');
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown kind', { p: { kind: 'ping', mode: 'enforce' } }, /\$\.p\.kind: expected one of "http", "tcp", "exec", "evidence"/],
    ['a missing kind', { p: { mode: 'enforce' } }, /\$\.p\.kind: missing required field/],
    ['an unknown mode', { p: { kind: 'tcp', mode: 'enforced', port: 1 } }, /\$\.p\.mode: expected one of "enforce", "observe", "disabled"/],
    ['a negative interval', { p: { kind: 'tcp', mode: 'enforce', intervalSeconds: -5 } }, /\$\.p\.intervalSeconds: expected an integer in \[0, /],
    ['a fractional interval', { p: { kind: 'tcp', mode: 'enforce', intervalSeconds: 2.5 } }, /\$\.p\.intervalSeconds: expected an integer/],
    ['an interval as a string', { p: { kind: 'tcp', mode: 'enforce', intervalSeconds: '30' } }, /\$\.p\.intervalSeconds/],
    ['a negative timeout', { p: { kind: 'exec', mode: 'enforce', command: ['x'], timeoutSecs: -1 } }, /\$\.p\.timeoutSecs/],
    ['a command as one shell string', { p: { kind: 'exec', mode: 'enforce', command: 'check-disk /var' } }, /\$\.p\.command/],
    ['a non-string argv element', { p: { kind: 'exec', mode: 'enforce', command: ['x', 1] } }, /\$\.p\.command\[1\]/],
    ['a port above 65535', { p: { kind: 'tcp', mode: 'enforce', port: 70000 } }, /\$\.p\.port: expected an integer in \[0, 65535\]/],
    ['an unknown control mode', { p: { kind: 'evidence', mode: 'enforce', framework: 'f', controlOverrides: { c: { mode: 'warn' } } } }, /\$\.p\.controlOverrides\.c\.mode/],
    ['a probe that is not an object', { p: 'http://x' }, /\$\.p: expected an object/],
    ['a top level that is not an object', [{ kind: 'http' }], /\$: expected an object/],
  ])('refuses %s', (_what, u, message) => {
    expect(refused(u)).toMatch(message);
  });

  it('names every bad field at once', () => {
    const message = refused({ a: { kind: 'x', mode: 'enforce' }, b: { kind: 'tcp', mode: 'enforce', port: -1 } });
    expect(message).toMatch(/\$\.a\.kind/);
    expect(message).toMatch(/\$\.b\.port/);
  });

  it('reports malformed JSON as a decode error too', () => {
    const r = decodeJson(HealthChecks, '{"p": {"kind": "tcp",');
    expect(E.isLeft(r) && r.left.message).toMatch(/^invalid HealthChecks: \$: malformed JSON/);
  });

  it('round-trips any decoded entry (property)', () => {
    const entry = fc.record({
      kind: fc.constantFrom(...PROBE_KINDS),
      mode: fc.constantFrom('enforce', 'observe', 'disabled'),
      intervalSeconds: fc.nat(),
      runOnce: fc.boolean(),
      port: fc.integer({ min: 0, max: 65535 }),
      command: fc.array(fc.string()),
      url: fc.webUrl(),
    });
    fc.assert(
      fc.property(entry, (e) => {
        const once = decodeWith(ProbeEntry, e);
        expect(E.isRight(once)).toBe(true);
        if (E.isRight(once)) expect(decodeWith(ProbeEntry, ProbeEntry.encode(once.right))).toEqual(once);
      }),
    );
  });
});

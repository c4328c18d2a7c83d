// Agent wire bodies against the exact JSON of reference wire-protocol.md §11
// (and agent-runtime.md §14): field names, snake_case vs camelCase per
// endpoint, key order, omitted absents. The reference shows them pretty-
// printed; JSON.stringify(JSON.parse(x)) is the compact form with the same
// key order, which is what upstream's serde writes.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import type * as t from 'io-ts';
import { decodeJson, encodeJson } from '../../src/codecs/decode';
import { HostRolloutSnapshot } from '../../src/codecs/host-state';
import {
  BootstrapToken,
  DispatchWire,
  EnrollRequest,
  HeartbeatRequestWire,
  HeartbeatResponseWire,
  IssuedCert,
  NotReadyBody,
  RenewRequest,
} from '../../src/codecs/wire';
import { NIX_BASE32 } from '../../src/codecs/store-path';
import { MAX_ROLLOUT_ID_BYTES } from '../../src/codecs/wire-ids';
import { arbSnapshot, arbText, arbTimestamp } from '../support/arbitraries';
import { ts } from '../support/decode';

const compact = (pretty: string): string => JSON.stringify(JSON.parse(pretty));

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-._=';
/** `<channel>@<ref>` as the CP names rollouts. */
const arbWireRolloutId = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.stringMatching(/^[0-9a-f]{7,40}$/))
  .map(([channel, ref]) => `${channel}@${ref}`);
/** A store basename: 32 nix-base32 characters, `-`, a name not starting with `.` and without `..`. */
const arbClosure = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...NIX_BASE32), minLength: 32, maxLength: 32 }),
    fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 40 }).filter((n) => !n.startsWith('.') && !n.includes('..')),
  )
  .map(([hash, name]) => `${hash}-${name}`);

function decoded<A, O>(codec: t.Type<A, O, unknown>, text: string): A {
  const r = decodeJson(codec, text);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

const reason = <A, O>(codec: t.Type<A, O, unknown>, text: string): string => {
  const r = decodeJson(codec, text);
  return E.isLeft(r) ? r.left.message : 'accepted';
};

// --- reference §11, verbatim -------------------------------------------------

const ENROLL_REQUEST = `{
  "token": {
    "version": 1,
    "claims": {
      "hostname": "web-01",
      "expectedPubkeyFingerprint": "q1Jm8a0XbP9c2RzT4uV6wY8xZ0aB2cD4eF6gH8iJ0kM=",
      "issuedAt": "2026-05-17T09:00:00Z",
      "expiresAt": "2026-05-18T09:00:00Z",
      "nonce": "c0ffee1234567890abcdef0123456789"
    },
    "signature": "<base64 of 64-byte ed25519 signature over JCS(claims)>"
  },
  "csrPem": "-----BEGIN CERTIFICATE REQUEST-----\\nMIGZ...\\n-----END CERTIFICATE REQUEST-----\\n"
}`;

const ISSUED = `{
  "certPem": "-----BEGIN CERTIFICATE-----\\nMIIB...\\n-----END CERTIFICATE-----\\n",
  "notAfter": "2026-06-16T09:00:05Z"
}`;

const RENEW_REQUEST = `{ "csrPem": "-----BEGIN CERTIFICATE REQUEST-----\\nMIGZ...\\n-----END CERTIFICATE REQUEST-----\\n" }`;

const HEARTBEAT_REQUEST = `{
  "hostname": "web-01",
  "current_closure": "0a7xqzl1m3c5v8b2n4k6j9h1g3f5d7s9-nixos-system-web-01-26.05.20260510.1a2b3c4",
  "at": "2026-05-17T10:00:00.482913174Z"
}`;

const HEARTBEAT_RESPONSE = `{
  "received_at": "2026-05-17T10:00:00.482913174Z",
  "bootstrap_rollouts": [
    {
      "rolloutId": "stable@3f9c2a1e4b5d6c7e8f90a1b2c3d4e5f607182930",
      "hostname": "web-01",
      "channel": "stable",
      "state": "Soaking",
      "targetClosure": "5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6",
      "currentClosureAtDispatch": "5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6",
      "currentClosure": "5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6",
      "dispatchedAt": "2026-05-17T09:59:00Z",
      "dispatchAckedAt": "2026-05-17T09:59:05Z",
      "activationStartedAt": "2026-05-17T09:59:05.120Z",
      "activationCompletedAt": "2026-05-17T09:59:41.900Z",
      "soakDueAt": "2026-05-17T10:04:00Z",
      "lastEventSeq": 4
    }
  ]
}`;

const DISPATCH = `{
  "hostname": "web-01",
  "rollout_id": "stable@3f9c2a1e4b5d6c7e8f90a1b2c3d4e5f607182930",
  "target_closure": "5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01-26.05.20260517.9f8e7d6",
  "soak_due_at": "2026-05-17T10:04:00Z",
  "enqueued_at": "2026-05-17T09:59:00Z"
}`;

const NOT_READY = `{ "error": "control plane not ready", "reason": "awaiting first signed artifact" }`;

describe('request bodies equal the reference examples byte for byte', () => {
  it('POST /v1/enroll (camelCase, token verbatim in struct order)', () => {
    const body = encodeJson(EnrollRequest, {
      token: {
        version: 1,
        claims: {
          hostname: 'web-01',
          expectedPubkeyFingerprint: 'q1Jm8a0XbP9c2RzT4uV6wY8xZ0aB2cD4eF6gH8iJ0kM=',
          issuedAt: ts('2026-05-17T09:00:00Z'),
          expiresAt: ts('2026-05-18T09:00:00Z'),
          nonce: 'c0ffee1234567890abcdef0123456789',
        },
        signature: '<base64 of 64-byte ed25519 signature over JCS(claims)>',
      },
      csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMIGZ...\n-----END CERTIFICATE REQUEST-----\n',
    });
    expect(body).toBe(compact(ENROLL_REQUEST));
  });

  it('POST /v1/agent/renew', () => {
    expect(encodeJson(RenewRequest, { csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMIGZ...\n-----END CERTIFICATE REQUEST-----\n' })).toBe(compact(RENEW_REQUEST));
  });

  it('POST /v1/agent/heartbeat (snake_case, rollout_id omitted, nanosecond `at`)', () => {
    const body = encodeJson(HeartbeatRequestWire, {
      hostname: 'web-01',
      current_closure: '0a7xqzl1m3c5v8b2n4k6j9h1g3f5d7s9-nixos-system-web-01-26.05.20260510.1a2b3c4',
      at: ts('2026-05-17T10:00:00.482913174Z'),
    });
    expect(body).toBe(compact(HEARTBEAT_REQUEST));
  });

  it('heartbeat with nothing optional is exactly the runtime reference shape, and rollout_id sits before current_closure', () => {
    expect(encodeJson(HeartbeatRequestWire, { hostname: 'web-01', at: ts('2026-05-17T12:00:00Z') })).toBe('{"hostname":"web-01","at":"2026-05-17T12:00:00Z"}');
    expect(encodeJson(HeartbeatRequestWire, { hostname: 'web-01', rollout_id: 'r', current_closure: 'c', at: ts('2026-05-17T12:00:00Z') })).toBe(
      '{"hostname":"web-01","rollout_id":"r","current_closure":"c","at":"2026-05-17T12:00:00Z"}',
    );
  });
});

describe('response bodies from the reference decode, and re-encode to the same bytes', () => {
  it.each<[string, t.Mixed, string]>([
    ['enroll / renew response', IssuedCert, ISSUED],
    ['heartbeat response with a bootstrap snapshot', HeartbeatResponseWire, HEARTBEAT_RESPONSE],
    ['dispatch', DispatchWire, DISPATCH],
    ['not-ready 503 body', NotReadyBody, NOT_READY],
    ['enroll request (dev CP side)', EnrollRequest, ENROLL_REQUEST],
    ['heartbeat request (dev CP side)', HeartbeatRequestWire, HEARTBEAT_REQUEST],
  ])('%s', (_name, codec, text) => {
    expect(encodeJson(codec, decoded(codec, text))).toBe(compact(text));
  });

  it('the snapshot inside the snake_case heartbeat keeps camelCase', () => {
    const r = decoded(HeartbeatResponseWire, HEARTBEAT_RESPONSE);
    expect(r.bootstrap_rollouts?.[0]?.lastEventSeq).toBe(4);
    expect(r.bootstrap_rollouts?.[0]?.activationStartedAt).toBe('2026-05-17T09:59:05.120Z');
    expect(reason(HeartbeatResponseWire, '{"bootstrap_rollouts":[{"rollout_id":"x"}]}')).toMatch(/\$\.bootstrap_rollouts\[0\]\.rolloutId: missing required field/);
  });

  it('steady-state heartbeat answers: `{}` and `{"received_at": null}` carry nothing; empty rollouts are omitted on output', () => {
    expect(decoded(HeartbeatResponseWire, '{}')).toEqual({});
    expect(decoded(HeartbeatResponseWire, '{"received_at":null,"bootstrap_rollouts":null}')).toEqual({});
    expect(encodeJson(HeartbeatResponseWire, { received_at: ts('2026-05-17T10:01:00.100Z') })).toBe('{"received_at":"2026-05-17T10:01:00.100Z"}');
  });
});

describe('casing is per endpoint: the other spelling is refused, not guessed', () => {
  it('dispatch in camelCase is missing its snake_case fields', () => {
    expect(reason(DispatchWire, '{"hostname":"web-01","rolloutId":"r","targetClosure":"t","soakDueAt":"2026-05-17T10:04:00Z","enqueuedAt":"2026-05-17T09:59:00Z"}')).toBe(
      'invalid DispatchResponse: $.rollout_id: missing required field; $.target_closure: missing required field; $.soak_due_at: missing required field; $.enqueued_at: missing required field',
    );
  });

  it('enroll answer in snake_case is missing certPem/notAfter', () => {
    expect(reason(IssuedCert, '{"cert_pem":"x","not_after":"2026-06-16T09:00:05Z"}')).toBe('invalid IssuedCert: $.certPem: missing required field; $.notAfter: missing required field');
  });

  it('dispatch fields are all required; null is not a value for a required field', () => {
    expect(reason(DispatchWire, compact(DISPATCH).replace('"2026-05-17T10:04:00Z"', 'null'))).toBe('invalid DispatchResponse: $.soak_due_at: expected an RFC 3339 timestamp string');
  });

  it('unknown keys are ignored (additive evolution) and dropped on re-encode', () => {
    expect(encodeJson(DispatchWire, decoded(DispatchWire, compact(DISPATCH).replace('{', '{"extra":[1],')))).toBe(compact(DISPATCH));
  });

  it('the token normalises timestamps to chrono\'s spelling (what upstream re-serialises and signs over)', () => {
    const t1 = decoded(BootstrapToken, '{"version":1,"claims":{"hostname":"h","expectedPubkeyFingerprint":"f","issuedAt":"2026-05-17T11:00:00.000+02:00","expiresAt":"2026-05-18T09:00:00.500Z","nonce":"n"},"signature":"s"}');
    expect(encodeJson(BootstrapToken, t1)).toBe(
      '{"version":1,"claims":{"hostname":"h","expectedPubkeyFingerprint":"f","issuedAt":"2026-05-17T09:00:00Z","expiresAt":"2026-05-18T09:00:00.500Z","nonce":"n"},"signature":"s"}',
    );
    expect(reason(BootstrapToken, '{"version":-1,"claims":{},"signature":"s"}')).toMatch(/^invalid BootstrapToken: \$\.version: expected an integer in \[0, 4294967295\]; \$\.claims\.hostname: missing required field/);
  });
});

describe('round trips on random values', () => {
  it('heartbeat request, response and dispatch', () => {
    const arbReq = fc.record(
      { hostname: arbText, rollout_id: arbText, current_closure: arbText, at: arbTimestamp },
      { requiredKeys: ['hostname', 'at'] },
    );
    // What the CP sends has valid ids and closures (refusals are pinned below).
    const arbWireSnapshot = fc
      .tuple(arbSnapshot, arbWireRolloutId, arbClosure, fc.option(arbClosure, { nil: undefined }), fc.option(arbClosure, { nil: undefined }))
      .map(([s, rolloutId, targetClosure, atDispatch, current]) => {
        const { currentClosureAtDispatch: _a, currentClosure: _c, ...rest } = s;
        return { ...rest, rolloutId, targetClosure, ...(atDispatch === undefined ? {} : { currentClosureAtDispatch: atDispatch }), ...(current === undefined ? {} : { currentClosure: current }) };
      });
    const arbRes = fc.record({ received_at: arbTimestamp, bootstrap_rollouts: fc.array(arbWireSnapshot, { minLength: 1, maxLength: 3 }) }, { requiredKeys: [] });
    const arbDispatch = fc.record({ hostname: arbText, rollout_id: arbWireRolloutId, target_closure: arbClosure, soak_due_at: arbTimestamp, enqueued_at: arbTimestamp });
    for (const [codec, arb] of [
      [HeartbeatRequestWire, arbReq],
      [HeartbeatResponseWire, arbRes],
      [DispatchWire, arbDispatch],
    ] as [t.Mixed, fc.Arbitrary<unknown>][]) {
      fc.assert(
        fc.property(arb, (v) => {
          const bytes = encodeJson(codec, v);
          expect(encodeJson(codec, decoded(codec, bytes))).toBe(bytes);
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('rollout ids and closures from the CP are checked at decode time', () => {
  const dispatch = (over: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(DISPATCH), ...over });
  const heartbeat = (over: Record<string, unknown>) => {
    const body = JSON.parse(HEARTBEAT_RESPONSE) as { bootstrap_rollouts: Record<string, unknown>[] };
    return JSON.stringify({ ...body, bootstrap_rollouts: [{ ...body.bootstrap_rollouts[0], ...over }] });
  };

  it.each([
    ['../../etc', 'rollout id "../../etc": contains path-traversal characters ("/", "\\", "..", NUL) or is empty'],
    ['stable@a/b', 'rollout id "stable@a/b": contains path-traversal characters ("/", "\\", "..", NUL) or is empty'],
    ['stable@ab\u0000', 'rollout id "stable@ab\\u0000": contains path-traversal characters ("/", "\\", "..", NUL) or is empty'],
    ['', 'rollout id "": contains path-traversal characters ("/", "\\", "..", NUL) or is empty'],
    ['stable@\u001b]0;x\u0007', 'rollout id "stable@\\u001b]0;x\\u0007": contains a control character or whitespace'],
    ['stable@ab\u009b', 'rollout id "stable@ab\\x9b": contains a control character or whitespace'],
    ['stable@ab cd', 'rollout id "stable@ab cd": contains a control character or whitespace'],
    ['r1', 'rollout id "r1": expected "<channel>@<ref>"'],
    ['@abc', 'rollout id "@abc": expected "<channel>@<ref>"'],
    ['stable@', 'rollout id "stable@": expected "<channel>@<ref>"'],
  ])('dispatch rollout_id %j is refused with its path and reason', (id, why) => {
    expect(reason(DispatchWire, dispatch({ rollout_id: id }))).toBe(`invalid DispatchResponse: $.rollout_id: ${why}`);
  });

  it(`an id longer than ${MAX_ROLLOUT_ID_BYTES} bytes (a cache file name) is refused`, () => {
    const id = `stable@${'a'.repeat(MAX_ROLLOUT_ID_BYTES - 'stable@'.length)}`;
    expect(reason(DispatchWire, dispatch({ rollout_id: id }))).toBe('accepted');
    expect(reason(DispatchWire, dispatch({ rollout_id: `${id}a` }))).toMatch(new RegExp(`^invalid DispatchResponse: \\$\\.rollout_id: rollout id ".*\\.\\.\\.: longer than ${MAX_ROLLOUT_ID_BYTES} bytes$`));
  });

  it.each([
    ['../../etc', 'contains "/" (expected a store basename)'],
    ['/nix/store/5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-x', 'contains "/" (expected a store basename)'],
    ['5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-EVIL\u001b]0;x\u0007', 'name contains "\\u001b" (allowed: A-Z a-z 0-9 + - . _ =)'],
    ['5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-a\rb', 'contains whitespace or a line break'],
    ['closure-a', 'expected a 32-character hash followed by "-"'],
  ])('dispatch target_closure %j is refused with its path and reason', (closure, why) => {
    expect(reason(DispatchWire, dispatch({ target_closure: closure }))).toMatch(
      new RegExp(`^invalid DispatchResponse: \\$\\.target_closure: closure ".*": ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    );
  });

  it('a bootstrap snapshot’s id and every closure are checked, with the path into the array', () => {
    expect(reason(HeartbeatResponseWire, heartbeat({ rolloutId: 'stable@3f9c\u001b[2J' }))).toBe(
      'invalid HeartbeatResponse: $.bootstrap_rollouts[0].rolloutId: rollout id "stable@3f9c\\u001b[2J": contains a control character or whitespace',
    );
    for (const field of ['targetClosure', 'currentClosureAtDispatch', 'currentClosure']) {
      expect(reason(HeartbeatResponseWire, heartbeat({ [field]: '0000000000000000000000000000000e-EVIL' }))).toMatch(
        new RegExp(`^invalid HeartbeatResponse: \\$\\.bootstrap_rollouts\\[0\\]\\.${field}: closure "0000000000000000000000000000000e-EVIL": hash .* is not nix-base32`),
      );
    }
  });

  it('the reducer’s own snapshot codec stays plain text (upstream’s trace vectors use bare ids)', () => {
    const snapshot = { ...JSON.parse(HEARTBEAT_RESPONSE).bootstrap_rollouts[0], rolloutId: 'r1', targetClosure: 'closure-a' };
    expect(E.isRight(decodeJson(HostRolloutSnapshot, JSON.stringify(snapshot)))).toBe(true);
  });

  it('encoding is unchanged (the dev CP writes these bodies)', () => {
    expect(encodeJson(DispatchWire, decoded(DispatchWire, DISPATCH))).toBe(compact(DISPATCH));
  });
});

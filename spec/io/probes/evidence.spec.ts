// The evidence runner (reference §10.4): a signed evidence file, the host
// key's OpenSSH public half, per-control sub-results and modes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { canonicalizeText } from '../../../src/codecs/jcs';
import { signaturePath } from '../../../src/io/probes';
import { declare, hostKey, runOnce, tempDir, type HostKey } from './support';
import { ed25519Key, identityRSignature, nodeAcceptsEd25519 } from '../../trust/support';

let dir: string;
let key: HostKey;
let evidencePath: string;

beforeEach(() => {
  dir = tempDir();
  key = hostKey(dir);
  evidencePath = path.join(dir, 'evidence.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONTROLS = [
  {
    controlId: 'access-control',
    passed: true,
    frameworkArticles: { 'nis2-essential': ['art21.i', 'art21.j'], iso27001: ['A.5.1'] },
    details: { password_auth_disabled: true, checks: [1, 2.5, 'x'] },
    schema: 'anssi-bp028/v1',
  },
  { controlId: 'secure-boot', passed: false, frameworkArticles: { 'nis2-essential': [] } },
  { controlId: 'synthetic', passed: false, frameworkArticles: {} },
];

/** What upstream's serde view re-serialises: known fields only, chrono's timestamp form. */
function serdeView(file: Record<string, unknown>): unknown {
  const controls = (file['controls'] as Record<string, unknown>[]).map((c) => {
    const out: Record<string, unknown> = { controlId: c['controlId'], passed: c['passed'], frameworkArticles: c['frameworkArticles'] ?? {} };
    if (c['details'] !== undefined && c['details'] !== null) out['details'] = c['details'];
    if (c['schema'] !== undefined && c['schema'] !== null) out['schema'] = c['schema'];
    return out;
  });
  return { schemaVersion: file['schemaVersion'], hostname: file['hostname'], collectedAt: '2026-05-18T12:00:00Z', controls };
}

const canonical = (v: unknown): Uint8Array => {
  const r = canonicalizeText(JSON.stringify(v));
  if (E.isLeft(r)) throw new Error(r.left.message);
  return Buffer.from(r.right, 'utf8');
};

/** Writes the file pretty-printed (as jq does) with extra fields, signed over the serde view. */
function writeEvidence(overrides: Record<string, unknown> = {}, sign: (file: Record<string, unknown>) => Uint8Array = (f) => canonical(serdeView(f))): void {
  const file = { schemaVersion: 1, hostname: 'web-01', collectedAt: '2026-05-18T14:00:00+02:00', controls: CONTROLS, producer: 'collector 0.3', ...overrides };
  fs.writeFileSync(evidencePath, JSON.stringify(file, null, 2));
  fs.writeFileSync(signaturePath(evidencePath), `${key.sign(sign(file))}\n`);
}

const probe = (extra: Record<string, unknown>) => declare({ kind: 'evidence', mode: 'enforce', evidencePath, ...extra });
const run = (extra: Record<string, unknown>) => runOnce(probe(extra), { sshHostKeyFile: key.privatePath });

describe('evidence probe', () => {
  it('fails a framework with a failing enforce control, with one sub-result per article', async () => {
    writeEvidence();
    const r = await run({ framework: 'nis2-essential' });
    expect(r).toEqual({
      status: 'fail',
      failureReason: 'evidence probe: nis2-essential: at least one enforce-mode control failed',
      subResults: [
        { controlId: 'access-control', status: 'pass', framework: 'nis2-essential', article: 'art21.i', effectiveMode: 'enforce' },
        { controlId: 'access-control', status: 'pass', framework: 'nis2-essential', article: 'art21.j', effectiveMode: 'enforce' },
        { controlId: 'secure-boot', status: 'fail', framework: 'nis2-essential', effectiveMode: 'enforce' },
      ],
    });
  });

  it('passes when the failing control is overridden to observe, keeping it visible with the reason', async () => {
    writeEvidence();
    const r = await run({ framework: 'nis2-essential', controlOverrides: { 'secure-boot': { mode: 'observe', reason: 'hardware lacks TPM' } } });
    expect(r.status).toBe('pass');
    expect(r.failureReason).toBeUndefined();
    expect(r.subResults?.[2]).toEqual({
      controlId: 'secure-boot',
      status: 'fail',
      framework: 'nis2-essential',
      effectiveMode: 'observe',
      overrideReason: 'hardware lacks TPM',
    });
  });

  it('drops disabled controls', async () => {
    writeEvidence();
    const r = await run({ framework: 'nis2-essential', controlOverrides: { 'secure-boot': { mode: 'disabled' } } });
    expect(r.status).toBe('pass');
    expect(r.subResults?.map((s) => s.controlId)).toEqual(['access-control', 'access-control']);
  });

  it('selects explicit controls in custom mode, frameworks in code-point order, "custom" when none', async () => {
    writeEvidence();
    const r = await run({ controls: { 'access-control': { mode: 'enforce', reason: 'baseline' }, synthetic: { mode: 'observe' } } });
    expect(r.status).toBe('pass');
    expect(r.subResults).toEqual([
      { controlId: 'access-control', status: 'pass', framework: 'iso27001', article: 'A.5.1', effectiveMode: 'enforce', overrideReason: 'baseline' },
      { controlId: 'access-control', status: 'pass', framework: 'nis2-essential', article: 'art21.i', effectiveMode: 'enforce', overrideReason: 'baseline' },
      { controlId: 'access-control', status: 'pass', framework: 'nis2-essential', article: 'art21.j', effectiveMode: 'enforce', overrideReason: 'baseline' },
      { controlId: 'synthetic', status: 'fail', framework: 'custom', effectiveMode: 'observe', overrideReason: '' },
    ]);
  });

  it('fails when no control matches the framework', async () => {
    writeEvidence();
    expect(await run({ framework: 'dora' })).toEqual({ status: 'fail', failureReason: "evidence probe: no controls match framework 'dora'" });
  });

  it('refuses a tampered file', async () => {
    writeEvidence();
    fs.writeFileSync(evidencePath, fs.readFileSync(evidencePath, 'utf8').replace('"passed": false', '"passed": true'));
    expect(await run({ framework: 'nis2-essential' })).toEqual({ status: 'fail', failureReason: 'evidence probe: signature verify failed' });
  });

  it('refuses a signature by another key', async () => {
    writeEvidence();
    const other = hostKey(fs.mkdtempSync(path.join(dir, 'other-')));
    fs.writeFileSync(`${key.privatePath}.pub`, fs.readFileSync(`${other.privatePath}.pub`));
    expect((await run({ framework: 'nis2-essential' })).failureReason).toBe('evidence probe: signature verify failed');
  });

  it('verifies strictly: a small-order-R signature that plain ed25519 (node, upstream’s verify) accepts is refused', async () => {
    const strictKey = ed25519Key();
    const raw = Buffer.from(strictKey.public, 'base64');
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), raw]);
    fs.writeFileSync(`${key.privatePath}.pub`, `ssh-ed25519 ${blob.toString('base64')} root@web-01\n`);
    let forged: Uint8Array | undefined;
    writeEvidence({}, (f) => {
      const doc = canonical(serdeView(f));
      forged = identityRSignature(strictKey, doc);
      expect(nodeAcceptsEd25519(raw.toString('hex'), doc, forged)).toBe(true);
      return doc;
    });
    fs.writeFileSync(signaturePath(evidencePath), `${Buffer.from(forged ?? []).toString('base64')}\n`);
    expect((await run({ framework: 'nis2-essential' })).failureReason).toBe('evidence probe: signature verify failed');
    // The same key's honest signature verifies.
    writeEvidence({}, (f) => canonical(serdeView(f)));
    const honest = strictKey.sign(canonical(serdeView(JSON.parse(fs.readFileSync(evidencePath, 'utf8')) as Record<string, unknown>)));
    fs.writeFileSync(signaturePath(evidencePath), `${Buffer.from(honest).toString('base64')}\n`);
    expect((await run({ framework: 'iso27001' })).status).toBe('pass');
  });

  it('also accepts a signature over the file as written (a producer with additive fields)', async () => {
    writeEvidence({}, (f) => canonical(f));
    expect((await run({ framework: 'iso27001' })).status).toBe('pass');
  });

  it('checks schemaVersion after the signature', async () => {
    writeEvidence({ schemaVersion: 2 });
    expect((await run({ framework: 'nis2-essential' })).failureReason).toBe(
      'evidence probe: schemaVersion 2 unsupported (agent expects 1); upgrade nixfleet-compliance',
    );
  });

  it.each<[string, () => void, RegExp]>([
    ['a missing evidence file', () => undefined, /^evidence probe: read .*evidence\.json: ENOENT/],
    ['a missing signature', () => (writeEvidence(), fs.rmSync(signaturePath(evidencePath))), /^evidence probe: read .*evidence\.json\.sig: ENOENT/],
    ['a missing public key', () => (writeEvidence(), fs.rmSync(`${key.privatePath}.pub`)), /^evidence probe: read host pubkey .*\.pub: ENOENT/],
    ['a malformed public key', () => (writeEvidence(), fs.writeFileSync(`${key.privatePath}.pub`, 'ssh-ed25519')), /^evidence probe: malformed host pubkey/],
    ['a signature that is not base64', () => (writeEvidence(), fs.writeFileSync(signaturePath(evidencePath), '***')), /^evidence probe: sig base64/],
    ['a short signature', () => (writeEvidence(), fs.writeFileSync(signaturePath(evidencePath), 'AAAA')), /^evidence probe: sig length 3 != 64/],
    ['unparsable evidence', () => (writeEvidence(), fs.writeFileSync(evidencePath, '{"schemaVersion": 1,')), /^evidence probe: parse: /],
    ['evidence without controls', () => writeEvidence({ controls: undefined }, (f) => canonical(f)), /^evidence probe: parse: missing field `controls`/],
  ])('fails on %s', async (_what, setup, reason) => {
    setup();
    expect((await run({ framework: 'nis2-essential' })).failureReason).toMatch(reason);
  });

  it('needs exactly one of framework and controls', async () => {
    writeEvidence();
    expect((await run({})).failureReason).toBe('evidence probe: neither framework nor controls declared');
    expect((await run({ framework: 'x', controls: { a: { mode: 'enforce' } } })).failureReason).toBe(
      'evidence probe: framework and controls both set (XOR violation)',
    );
  });

  it('puts the signature next to the file as <stem>.json.sig', () => {
    expect(signaturePath('/var/lib/nixfleet-compliance/evidence.json')).toBe('/var/lib/nixfleet-compliance/evidence.json.sig');
    expect(signaturePath('/x/evidence')).toBe('/x/evidence.json.sig');
    expect(signaturePath('/x/e.txt')).toBe('/x/e.json.sig');
  });
});

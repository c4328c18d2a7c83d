// ProbePort.run as a whole: dispatch, declarations built by hand, reason
// truncation, and the evidence file's serde reading.
import * as E from 'fp-ts/Either';
import { firstValueFrom, Observable } from 'rxjs';
import { createProbeAdapter, FAILURE_REASON_MAX_LEN, parseEvidence, truncateReason } from '../../../src/io/probes';
import type { ProcessPort } from '../../../src/ports/process';
import { declare, runOnce } from './support';

describe('ProbePort.run', () => {
  it('fails an unknown kind on every run (a declaration not from the codec)', async () => {
    const probe = { ...declare({ kind: 'tcp', mode: 'enforce', port: 1 }), kind: 'icmp' };
    expect(await runOnce(probe)).toEqual({ status: 'fail', failureReason: "unknown probe kind 'icmp'" });
  });

  it('fails a declaration whose settings do not decode, with the reason', async () => {
    const probe = { ...declare({ kind: 'tcp', mode: 'enforce', port: 1 }), spec: { port: -1 } };
    expect((await runOnce(probe)).failureReason).toMatch(/^invalid probe declaration: .*\$\.port/);
  });

  it('never errors: a throwing runner becomes a fail result', async () => {
    const broken: ProcessPort = { run: () => new Observable((s) => s.error(new Error('boom'))) };
    expect(await firstValueFrom(createProbeAdapter({ process: broken }).run(declare({ kind: 'exec', mode: 'enforce', command: ['true'] })))).toEqual({
      status: 'fail',
      failureReason: 'probe runner error: boom',
    });
  });

  it('runs nothing until subscribed', () => {
    let calls = 0;
    const spy: ProcessPort = { run: () => (calls++, new Observable()) };
    createProbeAdapter({ process: spy }).run(declare({ kind: 'exec', mode: 'enforce', command: ['true'] }));
    expect(calls).toBe(0);
  });
});

describe('truncateReason', () => {
  it('passes short reasons through, exactly 512 bytes included', () => {
    expect(truncateReason('503')).toBe('503');
    expect(truncateReason('x'.repeat(FAILURE_REASON_MAX_LEN))).toBe('x'.repeat(FAILURE_REASON_MAX_LEN));
  });

  it('cuts at a UTF-8 boundary and marks the cut', () => {
    const s = `${'a'.repeat(FAILURE_REASON_MAX_LEN - 1)}étrailing`;
    expect(truncateReason(s)).toBe(`${'a'.repeat(FAILURE_REASON_MAX_LEN - 1)}...[truncated]`);
  });
});

describe('evidence file reading (serde view)', () => {
  const text = (o: unknown) => new Uint8Array(Buffer.from(JSON.stringify(o)));
  const base = { schemaVersion: 1, hostname: 'h', collectedAt: '2026-05-18T12:00:00.500000+00:00', controls: [] as unknown[] };

  it('drops unknown fields, omits null details/schema, defaults frameworkArticles, rewrites the timestamp', () => {
    const r = parseEvidence(text({ ...base, extra: 1, controls: [{ controlId: 'c', passed: true, details: null, schema: null, more: 2 }] }));
    expect(E.isRight(r) && Buffer.from(r.right.signed).toString()).toBe(
      '{"collectedAt":"2026-05-18T12:00:00.500Z","controls":[{"controlId":"c","frameworkArticles":{},"passed":true}],"hostname":"h","schemaVersion":1}',
    );
  });

  it.each<[string, unknown, RegExp]>([
    ['a null frameworkArticles', { ...base, controls: [{ controlId: 'c', passed: true, frameworkArticles: null }] }, /frameworkArticles: expected a map/],
    ['a string passed', { ...base, controls: [{ controlId: 'c', passed: 'yes' }] }, /passed: expected a boolean/],
    ['a bad timestamp', { ...base, collectedAt: 'yesterday' }, /collectedAt: /],
    ['a negative schemaVersion', { ...base, schemaVersion: -1 }, /schemaVersion: expected u32/],
  ])('refuses %s', (_what, file, reason) => {
    const r = parseEvidence(text(file));
    expect(E.isLeft(r) && r.left).toMatch(reason);
  });
});

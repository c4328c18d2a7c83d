// What a failed `nix-store --realise` reports: the last 500 bytes of its
// stderr, cut at a UTF-8 boundary (upstream sends the whole stderr;
// docs/compatibility.md row 88); and the tools' default timeouts (row 35).
import { activationConfig } from '../../../src/io/activation/config';
import { classifyRealise, STDERR_TAIL_BYTES } from '../../../src/io/activation/realise';
import type { ProcessResult } from '../../../src/ports/process';

const failed = (stderr: string): ProcessResult => ({
  termination: { kind: 'exited', code: 1 },
  stdout: new Uint8Array(),
  stdoutTruncated: false,
  stderr: Buffer.from(stderr, 'utf8'),
  stderrTruncated: false,
});

describe('realise failure text', () => {
  it(`keeps the last ${STDERR_TAIL_BYTES} bytes of stderr, never half a character`, () => {
    const head = 'building a very long derivation log line\n'.repeat(100);
    const last = "error: builder for '/nix/store/x-y.drv' failed with exit code 1 — ünïcödé\n";
    const outcome = classifyRealise(failed(head + last), 'x-y', '/nix/store/x-y');
    expect(outcome?.kind).toBe('RealiseFailed');
    const reason = outcome?.kind === 'RealiseFailed' ? outcome.reason : '';
    const tail = reason.slice('nix-store --realise /nix/store/x-y exited Some(1): '.length);
    expect(reason.startsWith('nix-store --realise /nix/store/x-y exited Some(1): ')).toBe(true);
    expect(tail.endsWith(last)).toBe(true);
    expect(Buffer.byteLength(tail, 'utf8')).toBeLessThanOrEqual(STDERR_TAIL_BYTES);
    expect(Buffer.byteLength(tail, 'utf8')).toBeGreaterThan(STDERR_TAIL_BYTES - 4);
    expect(tail).not.toContain('\uFFFD');
  });

  it('keeps a short stderr whole', () => {
    const outcome = classifyRealise(failed('error: path is not valid\n'), 'x-y', '/nix/store/x-y');
    expect(outcome).toEqual({ kind: 'RealiseFailed', reason: 'nix-store --realise /nix/store/x-y exited Some(1): error: path is not valid\n' });
  });
});

describe('tool timeouts (upstream has none)', () => {
  it('realise 1 h, boot 10 min, every other tool 60 s, by default', () => {
    const cfg = activationConfig();
    expect([cfg.realiseTimeoutMs, cfg.bootTimeoutMs, cfg.toolTimeoutMs]).toEqual([3_600_000, 600_000, 60_000]);
  });
});

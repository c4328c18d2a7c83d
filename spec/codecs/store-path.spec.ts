// Store path validation: exactly `<32 nix-base32>-<name>`, nothing a shell,
// a path join or an argument parser could misread.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { NIX_BASE32, parseClosureName, parseStoreDir, parseStorePath, storePathOf } from '../../src/codecs/store-path';

const HASH = '2zln0i4rjvmqpnhl8w8f1i7ch2gyc8jk';
const ok = `${HASH}-nixos-system-web-01-26.05`;

const reasonOf = (input: string): string => {
  const r = parseClosureName(input);
  if (E.isRight(r)) throw new Error(`accepted ${JSON.stringify(input)}`);
  expect(r.left.message).toContain(JSON.stringify(input));
  return r.left.reason;
};

describe('parseClosureName', () => {
  it('accepts a system closure basename and splits it', () => {
    expect(parseClosureName(ok)).toEqual(E.right({ basename: ok, hash: HASH, name: 'nixos-system-web-01-26.05' }));
  });

  it.each([
    ['../../etc/shadow', /"\/"|".."/],
    [`${HASH}-nixos..system`, /"\.\."/],
    [`${HASH}-..`, /"\.\."/],
    [`${HASH}-nixos;reboot`, /";"/],
    [`${HASH}-nixos system`, /whitespace/],
    [`${HASH}-nixos\nsystem`, /line break/],
    [`${HASH}-nixos\tsystem`, /whitespace/],
    [`${HASH}-$(reboot)`, /"\$"/],
    [`${HASH}-a\`id\``, /"`"/],
    [`${HASH}-a|b`, /"\|"/],
    [`${HASH}-a&b`, /"&"/],
    [`${HASH}-a>b`, /">"/],
    [`${HASH}-a*`, /"\*"/],
    [`${HASH}-a?`, /"\?"/],
    [`${HASH}-a'b`, /"'"/],
    [`${HASH}-a"b`, /"\\""/],
    [`${HASH}-a\\b`, /"\\\\"/],
    [`${HASH}-a\0b`, /"\\u0000"/],
    [`${HASH}-.hidden`, /starts with "\."/],
    [`${HASH}-`, /empty name/],
    [`${HASH}-${'a'.repeat(212)}`, /longer than 211/],
    ['', /empty/],
    ['abc-nixos', /32-character hash/],
    [`${'e'.repeat(32)}-nixos`, /nix-base32/],
    [`${HASH.toUpperCase()}-nixos`, /nix-base32/],
    [`${HASH}nixos`, /32-character hash/],
    [`/nix/store/${HASH}-nixos`, /"\/"/],
  ])('refuses %j', (input, reason) => {
    expect(reasonOf(input)).toMatch(reason);
  });

  it('accepts only names built from the safe alphabet (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        const r = parseClosureName(`${HASH}-${name}`);
        if (E.isRight(r)) {
          expect(r.right.name).toMatch(/^[A-Za-z0-9+\-._=]+$/);
          expect(r.right.name).not.toContain('..');
          expect(r.right.name.startsWith('.')).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts every nix-base32 hash', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...NIX_BASE32), { minLength: 32, maxLength: 32 }), (chars) => {
        expect(E.isRight(parseClosureName(`${chars.join('')}-x`))).toBe(true);
      }),
    );
  });
});

describe('store directories and full paths', () => {
  it('joins a validated directory and basename', () => {
    expect(storePathOf('/nix/store', ok)).toEqual(E.right(expect.objectContaining({ path: `/nix/store/${ok}`, storeDir: '/nix/store' })));
    expect(storePathOf('/tmp/nixfleet-host-AbC123/nix/store/', ok)).toEqual(E.right(expect.objectContaining({ path: `/tmp/nixfleet-host-AbC123/nix/store/${ok}` })));
  });

  it.each(['nix/store', '/nix/../etc', '/nix/./store', '/nix store', '/nix/store;x', '', '/'])('refuses the store directory %j', (dir) => {
    expect(E.isLeft(parseStoreDir(dir))).toBe(true);
    expect(E.isLeft(storePathOf(dir, ok))).toBe(true);
  });

  it('parses a full store path under the store directory only', () => {
    expect(E.isRight(parseStorePath(`/nix/store/${ok}`))).toBe(true);
    expect(E.isLeft(parseStorePath(`/nix/store/${ok}/bin/switch-to-configuration`))).toBe(true);
    expect(E.isLeft(parseStorePath(`/nix/storex/${ok}`))).toBe(true);
    expect(E.isLeft(parseStorePath(`/nix/store/../store/${ok}`))).toBe(true);
    const r = parseStorePath(`/nix/store/${HASH}-a b`);
    expect(E.isLeft(r) && r.left.message).toMatch(/^invalid store path .*whitespace/);
  });
});

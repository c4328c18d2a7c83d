// Nix store paths, checked before any process sees one. A closure name
// comes from the control plane; everything after this check may hand it to
// nix-store, nix-env and systemd-run as an argument, so it must be exactly
// `<32 nix-base32 chars>-<name>` and nothing a shell or a path could misread.
import * as E from 'fp-ts/Either';

/** Nix's base32 alphabet: digits and lower-case letters without e, o, u, t. */
export const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';
export const DEFAULT_STORE_DIR = '/nix/store';
/** Nix refuses names longer than this. */
export const MAX_NAME_LENGTH = 211;

export interface StorePathError {
  readonly kind: 'InvalidStorePath';
  readonly input: string;
  readonly reason: string;
  readonly message: string;
}

export interface ClosureName {
  /** `<hash>-<name>`, the store basename (reference §11.1 `closure_hash`). */
  readonly basename: string;
  readonly hash: string;
  readonly name: string;
}

export interface StorePath extends ClosureName {
  readonly storeDir: string;
  /** `<storeDir>/<basename>`. */
  readonly path: string;
}

const HASH = new RegExp(`^[${NIX_BASE32}]{32}$`);
// Nix allows `?` too; it is a shell glob character, so it is refused here.
const NAME = /^[A-Za-z0-9+\-._=]+$/;
// A store directory: absolute, plain path characters only.
const DIR = /^(\/[A-Za-z0-9+\-._=@]+)+$/;

const fail = (input: string, reason: string): E.Either<StorePathError, never> =>
  E.left({ kind: 'InvalidStorePath', input, reason, message: `invalid store path ${JSON.stringify(input)}: ${reason}` });

/** The store basename `<32-char nix-base32 hash>-<name>`. */
export function parseClosureName(input: string): E.Either<StorePathError, ClosureName> {
  if (input.length === 0) return fail(input, 'empty');
  if (/\s/.test(input)) return fail(input, 'contains whitespace or a line break');
  if (input.includes('/')) return fail(input, 'contains "/" (expected a store basename)');
  if (input.includes('..')) return fail(input, 'contains ".."');
  const dash = input.indexOf('-');
  if (dash !== 32) return fail(input, 'expected a 32-character hash followed by "-"');
  const hash = input.slice(0, 32);
  const name = input.slice(33);
  if (!HASH.test(hash)) return fail(input, `hash ${JSON.stringify(hash)} is not nix-base32 (alphabet ${NIX_BASE32})`);
  if (name.length === 0) return fail(input, 'empty name after the hash');
  if (name.length > MAX_NAME_LENGTH) return fail(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (name.startsWith('.')) return fail(input, 'name starts with "."');
  const bad = [...name].find((ch) => !NAME.test(ch));
  if (bad !== undefined) return fail(input, `name contains ${JSON.stringify(bad)} (allowed: A-Z a-z 0-9 + - . _ =)`);
  return E.right({ basename: input, hash, name });
}

/** A store directory as configured: absolute, no `..`, no shell or space characters. */
export function parseStoreDir(input: string): E.Either<StorePathError, string> {
  const dir = input.length > 1 && input.endsWith('/') ? input.slice(0, -1) : input;
  if (!DIR.test(dir)) return fail(input, 'store directory must be absolute and use only A-Z a-z 0-9 + - . _ = @ and "/"');
  if (dir.split('/').some((seg) => seg === '.' || seg === '..')) return fail(input, 'store directory contains "." or ".." segments');
  return E.right(dir);
}

/** `<storeDir>/<basename>` for a basename, both validated. */
export function storePathOf(storeDir: string, basename: string): E.Either<StorePathError, StorePath> {
  const dir = parseStoreDir(storeDir);
  if (E.isLeft(dir)) return dir;
  const name = parseClosureName(basename);
  if (E.isLeft(name)) return name;
  return E.right({ ...name.right, storeDir: dir.right, path: `${dir.right}/${basename}` });
}

/** A full store path `<storeDir>/<hash>-<name>` (nothing after the basename). */
export function parseStorePath(input: string, storeDir: string = DEFAULT_STORE_DIR): E.Either<StorePathError, StorePath> {
  const dir = parseStoreDir(storeDir);
  if (E.isLeft(dir)) return dir;
  const prefix = `${dir.right}/`;
  if (!input.startsWith(prefix)) return fail(input, `not under ${prefix}`);
  const r = storePathOf(dir.right, input.slice(prefix.length));
  return E.isLeft(r) ? fail(input, r.left.reason) : r;
}

// Codec combinators that reproduce serde's JSON shapes byte for byte.
//
// io-ts' own `t.type` keeps unknown keys and the input's key order; upstream
// (serde) drops unknown keys, writes keys in declaration order, omits `None`
// and reads `null` as `None`. `struct` and `taggedUnion` do exactly that, and
// report bad input as a list of (path, reason) instead of throwing.
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';

interface FieldBase<C extends t.Mixed> {
  readonly codec: C;
}
/** Must be present and non-null. */
export interface Required<C extends t.Mixed> extends FieldBase<C> {
  readonly presence: 'required';
}
/** serde `Option<T>`: absent or null decodes to "absent"; absent is omitted on output. */
export interface Optional<C extends t.Mixed> extends FieldBase<C> {
  readonly presence: 'optional';
}
/** serde `#[serde(default)]`: absent decodes to the default; always written. */
export interface Defaulted<C extends t.Mixed> extends FieldBase<C> {
  readonly presence: 'defaulted';
  readonly fallback: t.TypeOf<C>;
}
export type Field = Required<t.Mixed> | Optional<t.Mixed> | Defaulted<t.Mixed>;
export type Fields = Readonly<Record<string, Field>>;

export const req = <C extends t.Mixed>(codec: C): Required<C> => ({ codec, presence: 'required' });
export const opt = <C extends t.Mixed>(codec: C): Optional<C> => ({ codec, presence: 'optional' });
export const withDefault = <C extends t.Mixed>(codec: C, fallback: t.TypeOf<C>): Defaulted<C> => ({
  codec,
  presence: 'defaulted',
  fallback,
});

type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<t.Mixed> ? K : never }[keyof F];
type PresentKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type Flatten<T> = { [K in keyof T]: T[K] };

export type StructType<F extends Fields> = Flatten<
  { readonly [K in PresentKeys<F>]: t.TypeOf<F[K]['codec']> } & {
    readonly [K in OptionalKeys<F>]?: t.TypeOf<F[K]['codec']>;
  }
>;
export type StructOutput<F extends Fields> = Flatten<
  { [K in PresentKeys<F>]: t.OutputOf<F[K]['codec']> } & { [K in OptionalKeys<F>]?: t.OutputOf<F[K]['codec']> }
>;

export function isPlainObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u);
}

/** Own property read that never walks the prototype chain (`__proto__`, `constructor`). */
function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

export interface StructCodec<F extends Fields> extends t.Type<StructType<F>, StructOutput<F>, unknown> {
  readonly fields: F;
}

/** Decode fields into a fresh object in declaration order; encode in the same order. */
export function decodeFields(fields: Fields, u: Record<string, unknown>, c: t.Context): t.Validation<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const errors: t.Errors = [];
  for (const [key, field] of Object.entries(fields)) {
    const v = own(u, key);
    if (v === undefined || (v === null && field.presence === 'optional')) {
      if (field.presence === 'required') errors.push({ value: v, context: t.appendContext(c, key, field.codec, v), message: 'missing required field' });
      else if (field.presence === 'defaulted') out[key] = field.fallback;
      continue;
    }
    const r = field.codec.validate(v, t.appendContext(c, key, field.codec, v));
    if (E.isLeft(r)) errors.push(...r.left);
    else out[key] = r.right;
  }
  return errors.length > 0 ? t.failures(errors) : t.success(out);
}

export function encodeFields(fields: Fields, a: Readonly<Record<string, unknown>>, out: Record<string, unknown> = {}): Record<string, unknown> {
  return encodeWith(planOf(fields), a, out);
}

// Every queued event is encoded, so each codec plans its encoding once: the
// keys in declaration order, and the codec of each field whose encoding is
// not the identity (strings, numbers, timestamps and enums are written as is).
interface EncodePlan {
  readonly keys: readonly string[];
  readonly codecs: readonly (t.Mixed | undefined)[];
}

const planOf = (fields: Fields): EncodePlan => {
  const keys = Object.keys(fields);
  return { keys, codecs: keys.map((k) => (fields[k] as Field).codec).map((c) => (c.encode === t.identity ? undefined : c)) };
};

function encodeWith(plan: EncodePlan, a: Readonly<Record<string, unknown>>, out: Record<string, unknown>): Record<string, unknown> {
  const { keys, codecs } = plan;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const v = a[key];
    if (v === undefined) continue;
    const codec = codecs[i];
    out[key] = codec === undefined ? v : codec.encode(v);
  }
  return out;
}

export function struct<F extends Fields>(name: string, fields: F): StructCodec<F> {
  const keys = Object.keys(fields);
  const plan = planOf(fields);
  const codec = new t.Type<StructType<F>, StructOutput<F>, unknown>(
    name,
    (u): u is StructType<F> =>
      isPlainObject(u) &&
      Object.keys(u).every((k) => keys.includes(k)) &&
      keys.every((k) => {
        const f = fields[k] as Field;
        const v = own(u, k);
        return v === undefined ? f.presence === 'optional' : f.codec.is(v);
      }),
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
      return decodeFields(fields, u, c) as t.Validation<StructType<F>>;
    },
    (a) => encodeWith(plan, a, {}) as StructOutput<F>,
  );
  return Object.assign(codec, { fields });
}

type Members = Readonly<Record<string, t.Mixed & { readonly fields: Fields }>>;
export type TaggedType<M extends Members> = {
  [K in keyof M & string]: Flatten<{ readonly kind: K } & t.TypeOf<M[K]>>;
}[keyof M & string];
export type TaggedOutput<M extends Members> = {
  [K in keyof M & string]: Flatten<{ kind: K } & t.OutputOf<M[K]>>;
}[keyof M & string];

export interface TaggedUnionCodec<M extends Members> extends t.Type<TaggedType<M>, TaggedOutput<M>, unknown> {
  readonly members: M;
}

const NO_FIELDS: EncodePlan = { keys: [], codecs: [] };

/** serde `#[serde(tag = "kind")]`: the tag is written first, then the member's fields. */
export function taggedUnion<M extends Members>(name: string, members: M): TaggedUnionCodec<M> {
  const kinds = Object.keys(members);
  const plans = new Map<string, EncodePlan>(kinds.map((k) => [k, planOf((members[k] as M[string]).fields)]));
  const member = (kind: unknown): (t.Mixed & { readonly fields: Fields }) | undefined =>
    typeof kind === 'string' && Object.prototype.hasOwnProperty.call(members, kind) ? members[kind] : undefined;
  const codec = new t.Type<TaggedType<M>, TaggedOutput<M>, unknown>(
    name,
    (u): u is TaggedType<M> => {
      if (!isPlainObject(u)) return false;
      const m = member(u['kind']);
      if (m === undefined) return false;
      const { kind: _kind, ...rest } = u;
      return m.is(rest);
    },
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
      const kind = own(u, 'kind');
      const m = member(kind);
      if (m === undefined) {
        const ctx = t.appendContext(c, 'kind', t.string, kind);
        const reason = kind === undefined ? 'missing "kind"' : `unknown kind ${JSON.stringify(kind)}`;
        return t.failures([{ value: kind, context: ctx, message: `${reason} (expected one of ${kinds.join(', ')})` }]);
      }
      const r = decodeFields(m.fields, u, c);
      return E.isLeft(r) ? r : t.success({ kind, ...r.right } as TaggedType<M>);
    },
    (a) => encodeWith((typeof a.kind === 'string' ? plans.get(a.kind) : undefined) ?? NO_FIELDS, a, { kind: a.kind }) as TaggedOutput<M>,
  );
  return Object.assign(codec, { members });
}

/** A string enum with the exact spellings given. */
export function literals<L extends string>(name: string, values: readonly L[]): t.Type<L, L, unknown> {
  return new t.Type<L, L, unknown>(
    name,
    (u): u is L => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) =>
      typeof u === 'string' && (values as readonly string[]).includes(u)
        ? t.success(u as L)
        : t.failure(u, c, `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`),
    t.identity,
  );
}

/** An integer in [min, max] (bounds within the safe-integer range). */
export function integer(name: string, min: number, max: number): t.Type<number, number, unknown> {
  return new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max,
    (u, c) =>
      typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max
        ? t.success(u)
        : t.failure(u, c, `expected an integer in [${min}, ${max}]`),
    t.identity,
  );
}

/** A JSON object used as a map; keys are written in ascending code-point order for determinism. */
export function sortedRecord<C extends t.Mixed>(name: string, codec: C): t.Type<Readonly<Record<string, t.TypeOf<C>>>, Record<string, t.OutputOf<C>>, unknown> {
  return new t.Type<Readonly<Record<string, t.TypeOf<C>>>, Record<string, t.OutputOf<C>>, unknown>(
    name,
    (u): u is Record<string, t.TypeOf<C>> => isPlainObject(u) && Object.values(u).every((v) => codec.is(v)),
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
      const entries: [string, t.TypeOf<C>][] = [];
      const errors: t.Errors = [];
      for (const key of Object.keys(u)) {
        const v = u[key];
        const r = codec.validate(v, t.appendContext(c, key, codec, v));
        if (E.isLeft(r)) errors.push(...r.left);
        else entries.push([key, r.right]);
      }
      return errors.length > 0 ? t.failures(errors) : t.success(Object.fromEntries(entries));
    },
    (a) => Object.fromEntries(Object.keys(a).sort(compareCodePoints).map((k) => [k, codec.encode(a[k])])),
  );
}

/** Code-point (not UTF-16 unit) order, as Rust's `str` ordering. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true || y.done === true) return x.done === true ? (y.done === true ? 0 : -1) : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx - cy;
  }
}

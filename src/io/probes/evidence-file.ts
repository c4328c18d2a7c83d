// The collector's `evidence.json` (reference §10.4 step 4), read the way
// upstream's serde struct reads it: unknown fields dropped, `details` and
// `schema` omitted when absent or null, `frameworkArticles` defaulting to
// `{}`, `collectedAt` rewritten in chrono's form. The signature covers the
// JCS bytes of that re-serialised struct, not the file's bytes.
import * as E from 'fp-ts/Either';
import { canonicalize, decodeUtf8, parseJson, type JsonObject, type JsonValue } from '../../codecs/jcs';
import { normalizeTimestamp } from '../../codecs/timestamp';
import { errorMessage } from '../../ports/error-text';

export const EVIDENCE_SCHEMA_VERSION = 1;

export interface EvidenceControl {
  readonly controlId: string;
  readonly passed: boolean;
  readonly frameworkArticles: Readonly<Record<string, readonly string[]>>;
  readonly details?: JsonValue;
  readonly schema?: string;
}

export interface EvidenceFile {
  readonly schemaVersion: number;
  readonly hostname: string;
  readonly collectedAt: string;
  readonly controls: readonly EvidenceControl[];
}

class Bad {
  constructor(readonly reason: string) {}
}

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(o: JsonObject, key: string, where: string): JsonValue {
  const v = Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
  if (v === undefined) throw new Bad(`missing field \`${key}\` in ${where}`);
  return v;
}

function str(v: JsonValue, what: string): string {
  if (typeof v !== 'string') throw new Bad(`${what}: expected a string`);
  return v;
}

function optional(o: JsonObject, key: string): JsonValue | undefined {
  const v = Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
  return v === null ? undefined : v;
}

function articles(v: JsonValue | undefined, where: string): Record<string, readonly string[]> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new Bad(`${where}.frameworkArticles: expected a map`);
  // No prototype: a framework named `__proto__` stays an ordinary key.
  const out = Object.create(null) as Record<string, readonly string[]>;
  for (const [fw, list] of Object.entries(v)) {
    if (!Array.isArray(list)) throw new Bad(`${where}.frameworkArticles.${fw}: expected a sequence`);
    out[fw] = list.map((a: JsonValue, i: number) => str(a, `${where}.frameworkArticles.${fw}[${i}]`));
  }
  return out;
}

function control(v: JsonValue, i: number): EvidenceControl {
  const where = `controls[${i}]`;
  if (!isObject(v)) throw new Bad(`${where}: expected struct EvidenceControlEntry`);
  const passed = field(v, 'passed', where);
  if (typeof passed !== 'boolean') throw new Bad(`${where}.passed: expected a boolean`);
  const fa = Object.prototype.hasOwnProperty.call(v, 'frameworkArticles') ? v['frameworkArticles'] : undefined;
  const details = optional(v, 'details');
  const schema = optional(v, 'schema');
  return {
    controlId: str(field(v, 'controlId', where), `${where}.controlId`),
    passed,
    frameworkArticles: articles(fa, where),
    ...(details === undefined ? {} : { details }),
    ...(schema === undefined ? {} : { schema: str(schema, `${where}.schema`) }),
  };
}

function evidenceFile(v: JsonValue): EvidenceFile {
  if (!isObject(v)) throw new Bad('expected struct EvidenceFile');
  const version = field(v, 'schemaVersion', 'EvidenceFile');
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new Bad('schemaVersion: expected u32');
  const collected = normalizeTimestamp(str(field(v, 'collectedAt', 'EvidenceFile'), 'collectedAt'));
  if (E.isLeft(collected)) throw new Bad(`collectedAt: ${collected.left}`);
  const controls = field(v, 'controls', 'EvidenceFile');
  if (!Array.isArray(controls)) throw new Bad('controls: expected a sequence');
  return {
    schemaVersion: version,
    hostname: str(field(v, 'hostname', 'EvidenceFile'), 'hostname'),
    collectedAt: collected.right,
    controls: controls.map(control),
  };
}

/** The parsed file and the canonical bytes its signature covers. */
export function parseEvidence(bytes: Uint8Array): E.Either<string, { readonly file: EvidenceFile; readonly signed: Uint8Array }> {
  const text = decodeUtf8(bytes);
  if (E.isLeft(text)) return E.left(text.left.message);
  const json = parseJson(text.right);
  if (E.isLeft(json)) return E.left(json.left.message);
  try {
    const file = evidenceFile(json.right);
    return E.right({ file, signed: new Uint8Array(Buffer.from(canonicalize(file), 'utf8')) });
  } catch (err) {
    return E.left(err instanceof Bad ? err.reason : errorMessage(err));
  }
}

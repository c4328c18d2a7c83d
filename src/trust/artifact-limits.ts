// Bounds checked on a signed artifact's raw bytes before anything parses it.
//
// Why the signature cannot go first: CI signs the JCS canonical bytes of the
// payload (upstream verify_signed_sidecar), and the canonical bytes exist
// only after a parse. Received bytes that are already canonical verify as
// they are, but bytes that are not (pretty-printed, keys out of order) are
// still authentic, and telling the two apart is itself a parse. So a forged
// body is parsed before it is refused, and what that parse may cost is
// bounded here, by one linear scan that allocates nothing.
//
// What a parse costs is set by how many things it allocates, not by nesting
// depth: 8 MiB of `{}` or of many-keyed objects takes seconds, 8 MiB of
// 126-deep arrays no more than the same count of shallow ones (depth is
// still capped at serde's 127 by the parser, src/codecs/jcs.ts). So the scan
// counts bytes, containers, object keys and elements.
//
// Sizing, from a generated fleet.resolved of N hosts in upstream's shape
// (system, platform, tags ×3, channel, a nixos-system closure name, an
// ssh-ed25519 pubkey; four waves): ~352 bytes, 2 containers, 8 keys and
// ~12 elements per host; 10,000 hosts = 3.4 MiB, 20 k containers, 80 k
// keys, 120 k elements, verified in ~0.2 s. A pin adds an object, 3 keys
// and 3 elements. Every cap holds upstream's 10,000-host design point with
// a pin on every host, and at least 16,000 unpinned hosts. Unique keys are
// the dearest input (a forged body of 128 Ki shuffled keys took ~0.6 s on
// the review machine, where 16 MiB bodies took up to 5 s), so that cap is
// the tightest.
import * as E from 'fp-ts/Either';

export interface ArtifactLimits {
  /** Raw bytes (~352 per host: 8 MiB holds ~24,000). The HTTP client's 16 MiB body cap is only a transport bound. */
  readonly maxBytes: number;
  /** `{` and `[` outside strings (2–3 per host). */
  readonly maxContainers: number;
  /** Object members, counted as `:` outside strings (8–11 per host). */
  readonly maxKeys: number;
  /** Array elements and object members: `,` outside strings plus one per container (12–15 per host). */
  readonly maxElements: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxBytes: 8 * 1024 * 1024,
  maxContainers: 64 * 1024,
  maxKeys: 128 * 1024,
  maxElements: 512 * 1024,
};

/** `maxBytes` of the defaults, named for the docs and the specs. */
export const MAX_ARTIFACT_BYTES = DEFAULT_ARTIFACT_LIMITS.maxBytes;

export type ArtifactMeasure = 'bytes' | 'containers' | 'keys' | 'elements';

export interface ArtifactTooLarge {
  readonly measure: ArtifactMeasure;
  readonly max: number;
  /** The count when the scan stopped: at least `max + 1`, not necessarily the total. */
  readonly seen: number;
  /** Byte offset where the limit was crossed (`max` for bytes). */
  readonly offset: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * One pass over the bytes; nothing is decoded. UTF-8 continuation bytes are
 * all >= 0x80, so the ASCII structural bytes are found exactly; the scan is
 * lenient about everything else (the parser still judges the syntax).
 */
export function checkArtifactLimits(bytes: Uint8Array, limits: ArtifactLimits = DEFAULT_ARTIFACT_LIMITS): E.Either<ArtifactTooLarge, void> {
  if (bytes.length > limits.maxBytes) return E.left({ measure: 'bytes', max: limits.maxBytes, seen: bytes.length, offset: limits.maxBytes });
  let containers = 0;
  let keys = 0;
  let elements = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++; // the escaped byte cannot end the string
      else if (b === QUOTE) inString = false;
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        break;
      case 0x7b: // {
      case 0x5b: // [
        if (++containers > limits.maxContainers) return E.left({ measure: 'containers', max: limits.maxContainers, seen: containers, offset: i });
        if (++elements > limits.maxElements) return E.left({ measure: 'elements', max: limits.maxElements, seen: elements, offset: i });
        break;
      case 0x3a: // :
        if (++keys > limits.maxKeys) return E.left({ measure: 'keys', max: limits.maxKeys, seen: keys, offset: i });
        break;
      case 0x2c: // ,
        if (++elements > limits.maxElements) return E.left({ measure: 'elements', max: limits.maxElements, seen: elements, offset: i });
        break;
    }
  }
  return E.right(undefined);
}

export function describeTooLarge(artifact: string, t: ArtifactTooLarge): string {
  return t.measure === 'bytes'
    ? `${artifact} is ${t.seen} bytes, over the ${t.max}-byte limit; refused before parsing`
    : `${artifact} has more than ${t.max} ${t.measure} (limit crossed at byte ${t.offset}); refused before parsing`;
}

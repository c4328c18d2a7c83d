// Manifest verification vs a bare crypto.verify of the same canonical bytes,
// measured side by side in one run. The bar: verifying one manifest
// costs no more than 3x the bare verify (ratio printed, not asserted).
//
// Run from the repository root after compiling, e.g.
//   npx tsc -p bench/tsconfig.json && node node_modules/.cache/nixfleet-bench/bench/verify.js
//   (or: npx tsc -p tsconfig.json --outDir /tmp/nf-bench && NODE_PATH=$PWD/node_modules node /tmp/nf-bench/bench/verify.js)
// `npm run bench` takes its two table rows from verifyRows() below.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as E from 'fp-ts/Either';
import { canonicalize } from '../src/codecs/jcs';
import { verifyRolloutManifest } from '../src/trust';
import type { Row } from './lib';
import { vectorsDir } from './paths';

export interface Case {
  readonly name: string;
  readonly artifact: Uint8Array;
  readonly signature: Uint8Array;
  readonly keys: { algorithm: string; public: string }[];
  readonly bare: () => boolean;
}

const NOW = '2026-05-01T00:30:00Z';
const OPTS = { now: NOW, freshnessWindowSecs: 3600 };

function manifestDoc(hosts: number): unknown {
  const hostSet = Array.from({ length: hosts }, (_, i) => ({
    hostname: `host-${String(i).padStart(3, '0')}`,
    waveIndex: i % 3,
    targetClosure: `${crypto.createHash('sha1').update(String(i)).digest('hex')}-nixos-system-host-${i}-25.05`,
  }));
  return {
    schemaVersion: 1,
    displayName: 'stable@def4567a',
    channel: 'stable',
    channelRef: 'def4567abc123def4567abc123def4567abc123d',
    fleetResolvedHash: '1'.repeat(64),
    hostSet,
    healthGate: { systemdFailedUnits: { max: 0 } },
    disruptionBudgets: [],
    meta: { schemaVersion: 1, signedAt: '2026-05-01T00:00:00Z', ciCommit: 'def4567abc123def4567abc123def4567abc123d', signatureAlgorithm: 'ed25519' },
  };
}

export function caseFor(name: string, algorithm: 'ed25519' | 'ecdsa-p256', canonical: Uint8Array, received: Uint8Array = canonical): Case {
  if (algorithm === 'ed25519') {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    const signature = crypto.sign(null, canonical, privateKey);
    return { name, artifact: received, signature, keys: [{ algorithm, public: raw.toString('base64') }], bare: () => crypto.verify(null, canonical, publicKey, signature) };
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  const signature = crypto.sign('sha256', canonical, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return {
    name,
    artifact: received,
    signature,
    keys: [{ algorithm, public: raw.toString('base64') }],
    bare: () => crypto.verify('sha256', canonical, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
  };
}

/** Operations per second of `iterations` calls of `fn`. */
function opsPerSec(fn: () => unknown, iterations: number): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (iterations / (performance.now() - start)) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Median rates (per second) of both sides and the median per-round ratio ours/bare. */
export function measure(c: Case, iterations: number, rounds: number): { ours: number; bare: number; ratio: number } {
  const ours = () => {
    const r = verifyRolloutManifest(c.artifact, c.signature, c.keys, OPTS);
    if (E.isLeft(r)) throw new Error(`${c.name}: ${r.left.message}`);
  };
  const bare = () => {
    if (!c.bare()) throw new Error(`${c.name}: bare verify failed`);
  };
  // Warm up the JIT and the key cache.
  for (let i = 0; i < 200; i++) {
    ours();
    bare();
  }
  const o: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  // Interleave rounds so that drift (thermal, GC) hits both sides alike;
  // alternate which goes first.
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = opsPerSec(ours, iterations);
      y = opsPerSec(bare, iterations);
    } else {
      y = opsPerSec(bare, iterations);
      x = opsPerSec(ours, iterations);
    }
    o.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return { ours: median(o), bare: median(b), ratio: median(ratios) };
}

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** An n-host manifest, canonical bytes. */
export function canonicalManifest(hosts: number): Uint8Array {
  return enc(canonicalize(manifestDoc(hosts)));
}

export function verifyCases(): Case[] {
  const cases: Case[] = [];
  const vectors = vectorsDir();
  const harness = vectors === undefined ? undefined : path.join(vectors, 'derived/nixfleet-harness/rollout-manifest/manifest.canonical.json');
  if (harness !== undefined && fs.existsSync(harness)) cases.push(caseFor('harness manifest (562 B), ed25519', 'ed25519', new Uint8Array(fs.readFileSync(harness))));
  for (const hosts of [2, 50, 150, 500]) {
    const canonical = canonicalManifest(hosts);
    for (const alg of ['ed25519', 'ecdsa-p256'] as const) cases.push(caseFor(`${hosts}-host manifest (${canonical.length} B), ${alg}`, alg, canonical));
  }
  {
    const doc = manifestDoc(50);
    const canonical = enc(canonicalize(doc));
    cases.push(caseFor(`50-host manifest received pretty-printed (${JSON.stringify(doc, null, 2).length} B), ed25519`, 'ed25519', canonical, enc(JSON.stringify(doc, null, 2))));
  }
  return cases;
}

/** The table rows: a 50-host channel's manifest (6.6 kB) under each algorithm; target ours/bare >= 0.33. */
export function verifyRows(quick: boolean): Row[] {
  const canonical = canonicalManifest(50);
  return (['ed25519', 'ecdsa-p256'] as const).map((alg) => {
    const c = caseFor(`50 hosts, ${alg}`, alg, canonical);
    const r = measure(c, quick ? 300 : 1000, quick ? 5 : 9);
    return {
      name: `manifest verify vs bare crypto.verify (50 hosts, ${(canonical.length / 1000).toFixed(1)} kB, ${alg})`,
      ours: Math.round(r.ours).toLocaleString('en-US'),
      baseline: Math.round(r.bare).toLocaleString('en-US'),
      ratio: r.ratio.toFixed(2),
      target: '>= 0.33',
      verdict: r.ratio >= 0.33 ? 'ok' : 'BELOW',
    };
  });
}

function main(): void {
  const cases = verifyCases();
  console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}`);
  console.log('case'.padEnd(62) + 'verify*/s'.padStart(12) + 'bare/s'.padStart(12) + 'ratio'.padStart(8));
  let worst = 0;
  for (const c of cases) {
    const iterations = c.artifact.length > 20000 ? 300 : 2000;
    const { ours, bare } = measure(c, iterations, 7);
    const ratio = bare / ours;
    worst = Math.max(worst, ratio);
    const verdict = ratio <= 3 ? '' : '  over 3x';
    console.log(c.name.padEnd(62) + ours.toFixed(0).padStart(12) + bare.toFixed(0).padStart(12) + `${ratio.toFixed(2)}x`.padStart(8) + verdict);
  }
  console.log(`verify* = verifyRolloutManifest (UTF-8, parse, JCS, strict key checks, signature, typed parse, freshness)`);
  console.log(`bare = crypto.verify of the same canonical bytes with a prepared KeyObject`);
  console.log(`worst ratio: ${worst.toFixed(2)}x (bar: 3x). Past ~20 kB the native JSON.parse + JSON.stringify`);
  console.log(`that JCS needs cost more than the bare verify on their own, so large manifests exceed the bar.`);
}

if (require.main === module) main();

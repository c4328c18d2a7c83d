// Durable enqueues per second (SQLite, WAL, synchronous=FULL: one fsync per
// commit) next to a bare write + fsync of the same bytes, measured side by
// side in one run on the same file system. The two alternate in small blocks
// so that both see the same background load; the ratio printed is the median
// of the per-block ratios. A last line shows upstream's layout (one file per
// event: write, fsync, rename, plus the directory fsync upstream omits).
//
//   npm run build && node bench/store-enqueue.mjs [events=3000] [block=100]
//   BENCH_DIR=/var/lib/nixfleet-agent node bench/store-enqueue.mjs   (another file system)
//
// `npm run bench` imports storeEnqueueBench() from here and passes its own
// compiled AgentStore, so the table does not depend on dist/.
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

// a typical wire event (ProbeResult, agent-runtime.md §14.4 field names)
const envelope = (seq) => ({
  hostname: 'web-01.example.org',
  rolloutId: 'stable@9f3c2e1d8b7a',
  event: {
    kind: 'ProbeResult',
    probeName: 'nginx-http',
    mode: 'enforce',
    status: 'pass',
    observedAt: '2025-01-01T00:00:00.123456789Z',
    seq,
  },
});

/**
 * Runs the measurement and returns the rates (per second) and the median
 * block ratio enqueue/fsync. `AgentStore` is the store class to measure
 * (dist's or the bench's compiled copy).
 */
export function storeEnqueueBench({ AgentStore, events = 3000, block = 100, dir = process.env.BENCH_DIR ?? os.tmpdir() }) {
  const root = fs.mkdtempSync(path.join(dir, 'nixfleet-bench-'));
  const sample = Buffer.from(JSON.stringify(envelope(events)));
  const silent = { info() {}, warn() {}, error() {} };
  // The reducer's seqs, one after another (the store records them and refuses reuse).
  let seq = 0;
  const request = () => {
    seq += 1;
    return { rolloutId: 'stable@9f3c2e1d8b7a', seq, kind: 'ProbeResult', durable: false, envelope: envelope(seq) };
  };

  const sub = (name) => {
    const d = path.join(root, name);
    fs.mkdirSync(d);
    return d;
  };
  const store = AgentStore.open({ stateDir: sub('store'), logger: silent, clock: () => '2025-01-01T00:00:00Z' });
  const logFd = fs.openSync(path.join(sub('fsync'), 'log'), 'w');
  const filesDir = sub('files');

  const timed = (n, f) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) f(i);
    return (performance.now() - t) / 1000;
  };

  const enqueueBlock = (ids) => timed(block, () => ids.push(store.enqueue(request()).id));
  const ackBlock = (ids) => timed(ids.length, (i) => store.ack(ids[i]));
  const fsyncBlock = () =>
    timed(block, () => {
      fs.writeSync(logFd, sample);
      fs.fsyncSync(logFd);
    });
  let fileNo = 0;
  const filesBlock = (n) =>
    timed(n, () => {
      const final = path.join(filesDir, `${String(fileNo++).padStart(20, '0')}-web-01-stable@9f3c2e1d8b7a-ProbeResult.json`);
      const fd = fs.openSync(`${final}.tmp`, 'w');
      fs.writeSync(fd, sample);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(`${final}.tmp`, final);
      const d = fs.openSync(filesDir, 'r');
      fs.fsyncSync(d);
      fs.closeSync(d);
    });

  try {
    // warm-up: module and page-cache effects, the WAL file's first growth
    enqueueBlock([]);
    fsyncBlock();

    const total = { enqueue: 0, ack: 0, fsync: 0, files: 0 };
    let filesDone = 0;
    const ratios = [];
    for (let done = 0; done < events; done += block) {
      const ids = [];
      // alternate which side goes first, so neither always runs on a warm cache
      let e;
      let f;
      if (ratios.length % 2 === 0) {
        e = enqueueBlock(ids);
        f = fsyncBlock();
      } else {
        f = fsyncBlock();
        e = enqueueBlock(ids);
      }
      total.enqueue += e;
      total.fsync += f;
      total.ack += ackBlock(ids); // keeps the queue small, as a draining agent would
      ratios.push(f / e);
      const n = Math.max(1, Math.floor(block / 4)); // the slow one: fewer suffice
      total.files += filesBlock(n);
      filesDone += n;
    }
    const blocks = ratios.length;
    const n = blocks * block;
    return {
      dir: path.dirname(root),
      bytes: sample.length,
      blocks,
      events: n,
      enqueue: n / total.enqueue,
      fsync: n / total.fsync,
      ratio: [...ratios].sort((a, b) => a - b)[Math.floor(blocks / 2)],
      ack: n / total.ack,
      files: filesDone / total.files,
    };
  } finally {
    store.close();
    fs.closeSync(logFd);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const { AgentStore } = await import('../dist/io/store/agent-store.js');
  const r = storeEnqueueBench({ AgentStore, events: Number(process.argv[2] ?? 3000), block: Number(process.argv[3] ?? 100) });
  const rate = (x) => `${x.toFixed(0)} /s`;
  const row = (label, value) => console.log(`${label.padEnd(58)}${value}`);
  console.log(`${r.events} events of ${r.bytes} bytes in ${r.blocks} alternating blocks, in ${r.dir}`);
  row('durable enqueue (SQLite WAL, synchronous=FULL)', rate(r.enqueue));
  row('bare write + fsync of the same bytes', rate(r.fsync));
  row('ratio: durable enqueue / bare write+fsync (median)', r.ratio.toFixed(2));
  row('durable ack (delete after 2xx)', rate(r.ack));
  row('upstream layout: file per event + rename + dir fsync', rate(r.files));
}

// `npm run bench`: every bench row in one run, printed as one table, with the
// machine it ran on. Each row is a ratio of two things measured side by side
// in alternating blocks of this same run; absolute rates on a shared machine
// are noise, the ratios much less. Nothing here is a timed test: a row below
// its target prints BELOW (a wall-clock bound it exceeds, OVER), and the exit
// status only reports a row that could not run at all.
//
//   npm run bench                 the full table (about 4 min on 2 shared cores, 2 of them the daemon's idle period)
//   npm run bench -- --quick      CI smoke: short blocks, 2,500 agents against 250 instead of 10,000 against 1,000, 20 s daemon idle period
//   npm run bench -- --only=step,graph,verify,store,fleet,daemon
//
// Compiled with bench/tsconfig.json into node_modules/.cache/nixfleet-bench;
// run with --expose-gc so the memory row can collect garbage before each
// reading. What each row compares: docs/performance.md.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentStore } from '../src/io/store/agent-store';
import { daemonRows } from './daemon';
import { fleetReportInChild } from './fleet';
import { graphReport } from './graph';
import { machine, printTable, runMain, type Row } from './lib';
import { repoRoot } from './paths';
import { stepRows } from './step-trace';
import { verifyRows } from './verify';

// tsc's CommonJS output turns `import()` into `require()`, which cannot load
// the store bench's ES module on every Node 20; this keeps a real import().
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;

interface StoreResult {
  readonly dir: string;
  readonly bytes: number;
  readonly events: number;
  readonly enqueue: number;
  readonly fsync: number;
  readonly ratio: number;
  readonly ack: number;
  readonly files: number;
}

async function storeRows(quick: boolean, notes: string[]): Promise<Row[]> {
  const mod = (await importEsm(pathToFileURL(path.join(repoRoot(), 'bench/store-enqueue.mjs')).href)) as {
    storeEnqueueBench(o: { AgentStore: unknown; events: number; block: number }): StoreResult;
  };
  const r = mod.storeEnqueueBench({ AgentStore, events: quick ? 1000 : 3000, block: 100 });
  notes.push(
    `store row: ${r.events.toLocaleString('en-US')} enqueues of a ${r.bytes}-byte ProbeResult envelope in ${r.dir} (SQLite WAL, synchronous=FULL); ` +
      `ack ${Math.round(r.ack).toLocaleString('en-US')}/s; upstream's file-per-event layout ${Math.round(r.files).toLocaleString('en-US')}/s.`,
  );
  return [
    {
      name: 'durable enqueue vs bare write+fsync of the same bytes',
      ours: Math.round(r.enqueue).toLocaleString('en-US'),
      baseline: Math.round(r.fsync).toLocaleString('en-US'),
      ratio: r.ratio.toFixed(2),
      target: '>= 0.8',
      verdict: r.ratio >= 0.8 ? 'ok' : 'BELOW',
    },
  ];
}

type Section = (quick: boolean, notes: string[]) => Row[] | Promise<Row[]>;

const SECTIONS: readonly (readonly [string, Section])[] = [
  ['step', (quick) => stepRows(quick)],
  [
    'graph',
    (quick, notes) => {
      const r = graphReport(quick);
      notes.push(...r.notes);
      return r.rows;
    },
  ],
  ['verify', (quick) => verifyRows(quick)],
  ['store', storeRows],
  [
    'fleet',
    (quick, notes) => {
      const r = fleetReportInChild(quick);
      notes.push(...r.notes);
      return r.rows;
    },
  ],
  // Rebuilds dist/ first (the daemon runs as a process from dist/bin), then a
  // loopback dev CP; 2 min of idle settling (20 s with --quick).
  ['daemon', (quick, notes) => daemonRows(quick, notes)],
];


async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice('--only='.length).split(','));
  const started = new Date();
  const host = machine();
  const rows: Row[] = [];
  const notes: string[] = [];
  let failed = 0;
  for (const [name, section] of SECTIONS) {
    if (only !== undefined && !only.has(name)) continue;
    process.stderr.write(`bench: ${name} … `);
    const start = process.hrtime.bigint();
    try {
      rows.push(...(await section(quick, notes)));
      process.stderr.write(`${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s\n`);
    } catch (err) {
      failed += 1;
      process.stderr.write('failed\n');
      rows.push({ name: `${name}: FAILED — ${err instanceof Error ? err.message : String(err)}`, ours: '—', baseline: '—', ratio: '—', target: '—', verdict: 'ERROR' });
    }
  }
  console.log(`nixfleet-agent benchmarks${quick ? ' (--quick)' : ''}, ${started.toISOString()}`);
  console.log(host);
  console.log('');
  printTable(rows);
  console.log('');
  console.log('ratio = ours / baseline, the median of per-block ratios (blocks alternate); ours/s and baseline/s are over all blocks.');
  for (const n of notes) console.log(n);
  return failed === 0 ? 0 : 1;
}

runMain(() => main(process.argv.slice(2)));

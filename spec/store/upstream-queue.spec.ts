// The Rust agent's outbound queue (docs/store.md, "The Rust agent's queue"):
// its files decoded against a fixture written by hand from upstream's source,
// imported at start in one transaction with their seqs, set aside when bad or
// when their seq is taken, imported once across a crash, and written back by
// the export byte for byte as upstream lays them out.
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/Either';
import { acquireInstanceLock } from '../../src/io/store/instance-lock';
import {
  decodeQueueFile,
  queueFileName,
  queueFileText,
  UPSTREAM_QUEUE_DIR,
  UpstreamQueueFileError,
  type UpstreamQueuedEvent,
} from '../../src/io/store/upstream-queue';
import { exportUpstreamQueue } from '../../src/io/store/upstream-queue-export';
import { importUpstreamQueue } from '../../src/io/store/upstream-queue-import';
import { StoreError } from '../../src/ports/store';
import { openStore, recordingLogger, tempDir } from './support';

const FIXTURE = path.resolve(__dirname, '../fixtures/upstream-queue', UPSTREAM_QUEUE_DIR);
const FIXTURE_FILES = fs.readdirSync(FIXTURE).sort();
const ROLLOUT = 'stable@deadbeef';

const decodeFixture = (name: string): UpstreamQueuedEvent => {
  const r = decodeQueueFile(name, fs.readFileSync(path.join(FIXTURE, name), 'utf8'));
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/** A state dir whose `outbound-queue/` holds the fixture's files (plus `extra` name → text). */
function rustStateDir(extra: Record<string, string> = {}): string {
  const dir = tempDir('upstream-queue');
  const queue = path.join(dir, UPSTREAM_QUEUE_DIR);
  fs.mkdirSync(queue);
  for (const name of FIXTURE_FILES) fs.copyFileSync(path.join(FIXTURE, name), path.join(queue, name));
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(queue, name), text);
  return dir;
}

const asideDirs = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.startsWith(`${UPSTREAM_QUEUE_DIR}.imported-`));
const bodies = (store: ReturnType<typeof openStore>['store']) => store.pending(100).map((q) => ({ rolloutId: q.rolloutId, seq: q.seq, kind: q.kind, durable: q.durable, body: JSON.parse(q.body) as unknown }));
const clockAt = (stamp: string) => () => stamp;

let dirs: string[] = [];
const track = (d: string) => (dirs.push(d), d);
afterEach(() => {
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  dirs = [];
});

describe("the Rust agent's queue files", () => {
  it('decode as upstream writes them, and encode back to the same name and bytes', () => {
    expect(FIXTURE_FILES).toHaveLength(2);
    for (const name of FIXTURE_FILES) {
      const ev = decodeFixture(name);
      expect(queueFileName(ev)).toBe(name);
      expect(queueFileText(ev)).toBe(fs.readFileSync(path.join(FIXTURE, name), 'utf8'));
    }
    expect(decodeFixture(FIXTURE_FILES[1] as string)).toMatchObject({
      seq: 4,
      hostname: 'web-01',
      rollout_id: ROLLOUT,
      event_kind: 'ProbeResult',
      created_at: '2026-05-16T01:00:05.123456Z',
      payload: { kind: 'ProbeResult', probeName: 'system-health', status: 'fail', failureReason: 'exec probe: exit Some(1)', seq: 4 },
    });
  });

  it('never throw: any text, a fixture with bytes changed, or any JSON is an event or a typed refusal', () => {
    const sample = fs.readFileSync(path.join(FIXTURE, FIXTURE_FILES[0] as string), 'utf8');
    const mutated = fc
      .array(fc.tuple(fc.nat(sample.length), fc.nat(3), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 4 })
      .map((edits) => edits.reduce((t, [at, cut, put]) => t.slice(0, at) + put + t.slice(at + cut), sample));
    const text = fc.oneof(fc.string(), mutated, fc.jsonValue().map((v) => JSON.stringify(v) ?? ''));
    fc.assert(
      fc.property(text, (t) => {
        const r = decodeQueueFile('f.json', t);
        if (E.isLeft(r)) return r.left instanceof UpstreamQueueFileError && r.left.file === 'f.json' && r.left.reason.length > 0;
        return queueFileText(r.right).length > 0;
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['not JSON', '{"seq": 3,', /malformed JSON/],
    ['a missing field', JSON.stringify({ seq: 3, hostname: 'h', rollout_id: ROLLOUT, event_kind: 'Converged', created_at: '2026-05-16T01:00:00Z' }), /\$\.payload: missing required field/],
    ['an unknown kind', JSON.stringify({ seq: 3, hostname: 'h', rollout_id: ROLLOUT, event_kind: 'Rebooted', created_at: '2026-05-16T01:00:00Z', payload: { kind: 'Rebooted', seq: 3 } }), /unknown kind "Rebooted"/],
    ['a seq the payload contradicts', JSON.stringify({ seq: 3, hostname: 'h', rollout_id: ROLLOUT, event_kind: 'Converged', created_at: '2026-05-16T01:00:00Z', payload: { kind: 'Converged', convergedAt: '2026-05-16T01:00:00Z', currentClosure: 'c', seq: 9 } }), /payload\.seq 9 differs from seq 3/],
    ['a kind the payload contradicts', JSON.stringify({ seq: 3, hostname: 'h', rollout_id: ROLLOUT, event_kind: 'Failed', created_at: '2026-05-16T01:00:00Z', payload: { kind: 'Converged', convergedAt: '2026-05-16T01:00:00Z', currentClosure: 'c', seq: 3 } }), /payload\.kind Converged differs from event_kind Failed/],
  ])('refuse %s with a typed error naming the file and the reason', (_what, text, reason) => {
    const r = decodeQueueFile('x.json', text);
    expect(E.isLeft(r)).toBe(true);
    if (E.isRight(r)) return;
    expect(r.left).toBeInstanceOf(UpstreamQueueFileError);
    expect(r.left.file).toBe('x.json');
    expect(r.left.reason).toMatch(reason);
  });
});

describe("importing the Rust agent's queue at start", () => {

  it('queues every event under its own seq, in one go, and moves the folder aside', () => {
    const dir = track(rustStateDir({ '00000000000000000005-web-01-stable@deadbeef-Converged.json.tmp': '{"half' }));
    const { store, log } = openStore(dir);
    const outcome = importUpstreamQueue(store, dir, log, clockAt('2026-05-16T02:00:00Z'));
    expect(outcome).toMatchObject({ imported: 2, alreadyQueued: 0, setAside: [] });
    expect(bodies(store)).toEqual(
      FIXTURE_FILES.map(decodeFixture).map((ev) => ({
        rolloutId: ROLLOUT,
        seq: ev.seq,
        kind: ev.event_kind,
        durable: ev.event_kind !== 'ProbeResult',
        // what upstream's drainer POSTs: the envelope, no signature
        body: { hostname: 'web-01', rolloutId: ROLLOUT, event: JSON.parse(fs.readFileSync(path.join(FIXTURE, queueFileName(ev)), 'utf8')).payload },
      })),
    );
    // the reducer's floors are seeded from these counters after the import
    expect(store.seqCounters()).toEqual({ [ROLLOUT]: 4 });
    // every file taken: the folder goes, with the partial write the Rust agent never finished
    expect(fs.existsSync(path.join(dir, UPSTREAM_QUEUE_DIR))).toBe(false);
    expect(asideDirs(dir)).toEqual([]);
    expect(outcome.movedTo).toBeUndefined();
    expect(log.lines.find((l) => l.level === 'info')?.fields).toMatchObject({ imported: 2, notImported: 0 });
    store.close();
  });

  it('sets a bad file aside with a WARN naming it and why; the good ones are imported', () => {
    const dir = track(rustStateDir({ '00000000000000000002-web-01-stable@deadbeef-ActivationStarted.json': 'not json' }));
    const { store, log } = openStore(dir);
    const outcome = importUpstreamQueue(store, dir, log, clockAt('2026-05-16T02:00:00Z'));
    expect(outcome.imported).toBe(2);
    const bad = path.join(dir, 'outbound-queue.imported-2026-05-16T02-00-00Z', '00000000000000000002-web-01-stable@deadbeef-ActivationStarted.json');
    expect(outcome.setAside.map((b) => b.file)).toEqual([bad]);
    expect(fs.readFileSync(bad, 'utf8')).toBe('not json');
    const warn = log.lines.filter((l) => l.level === 'warn');
    expect(warn).toHaveLength(1);
    expect(warn[0]?.fields).toMatchObject({ file: bad, reason: expect.stringMatching(/malformed JSON/) as unknown });
    store.close();
  });

  it('a crash after the commit and before the move: the next start imports nothing twice', () => {
    const dir = track(rustStateDir());
    const queue = path.join(dir, UPSTREAM_QUEUE_DIR);
    const copy = `${queue}.copy`;
    fs.cpSync(queue, copy, { recursive: true });
    const first = openStore(dir);
    expect(importUpstreamQueue(first.store, dir, first.log, clockAt('2026-05-16T02:00:00Z')).imported).toBe(2);
    first.store.close();
    // the folder as it was when the process died, right after the commit
    fs.renameSync(copy, queue);
    const again = openStore(dir);
    const outcome = importUpstreamQueue(again.store, dir, again.log, clockAt('2026-05-16T02:00:01Z'));
    expect(outcome).toMatchObject({ imported: 0, alreadyQueued: 2, setAside: [] });
    expect(again.store.pending(100).map((q) => q.seq)).toEqual([3, 4]);
    expect(fs.existsSync(queue)).toBe(false);
    expect(again.log.lines.filter((l) => l.level !== 'info')).toEqual([]);
    again.store.close();
  });

  it('an event whose seq this agent already used is set aside, never renumbered', () => {
    const dir = track(rustStateDir());
    const { store, log } = openStore(dir);
    // seq 3 went out (queued and acked) before the swap; seq 4 is queued with other content
    const env = (seq: number) => ({ hostname: 'web-01', rolloutId: ROLLOUT, event: { kind: 'ActivationStarted', seq } });
    store.ack(store.enqueue({ rolloutId: ROLLOUT, seq: 3, kind: 'ActivationStarted', durable: true, envelope: env(3) }).id);
    store.enqueue({ rolloutId: ROLLOUT, seq: 4, kind: 'ActivationStarted', durable: true, envelope: env(4) });
    const outcome = importUpstreamQueue(store, dir, log, clockAt('2026-05-16T02:00:00Z'));
    expect(outcome.imported).toBe(0);
    expect(outcome.setAside.map((b) => [path.basename(b.file), b.reason])).toEqual([
      [FIXTURE_FILES[0], expect.stringMatching(/seq 3 of stable@deadbeef is not above this agent's last seq 4/)],
      [FIXTURE_FILES[1], 'this agent already queued a different event as seq 4 of stable@deadbeef'],
    ]);
    expect(store.pending(100).map((q) => [q.seq, q.kind])).toEqual([[4, 'ActivationStarted']]);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    store.close();
  });

  it('a store that fails imports nothing and leaves the folder for the next start', () => {
    const dir = track(rustStateDir());
    const { store, log } = openStore(dir);
    store.close();
    expect(() => importUpstreamQueue(store, dir, log, clockAt('2026-05-16T02:00:00Z'))).toThrow(StoreError);
    expect(fs.readdirSync(path.join(dir, UPSTREAM_QUEUE_DIR)).sort()).toEqual(FIXTURE_FILES);
  });

  it('no folder, or an empty one: nothing happens (the empty one is removed)', () => {
    const dir = track(tempDir('upstream-queue'));
    const { store, log } = openStore(dir);
    expect(importUpstreamQueue(store, dir, log, clockAt('x'))).toEqual({ imported: 0, alreadyQueued: 0, setAside: [] });
    fs.mkdirSync(path.join(dir, UPSTREAM_QUEUE_DIR));
    expect(importUpstreamQueue(store, dir, log, clockAt('x')).imported).toBe(0);
    expect(fs.existsSync(path.join(dir, UPSTREAM_QUEUE_DIR))).toBe(false);
    expect(log.lines).toEqual([]);
    store.close();
  });
});

describe('exporting our queue in the Rust agent’s layout', () => {

  /** A store holding the fixture's events, enqueued by this agent at the fixture's created_at. */
  function ourStateDir(): string {
    const dir = track(tempDir('upstream-export'));
    const events = FIXTURE_FILES.map(decodeFixture);
    const stamps = events.map((e) => e.created_at);
    const { store } = openStore(dir, { clock: () => stamps.shift() ?? '2030-01-01T00:00:00Z' });
    for (const e of events) {
      store.enqueue({ rolloutId: e.rollout_id, seq: e.seq, kind: e.event_kind, durable: true, envelope: { hostname: e.hostname, rolloutId: e.rollout_id, event: e.payload } });
    }
    store.close();
    return dir;
  }

  it('writes every pending event byte for byte as upstream would, and leaves the store as it was', async () => {
    const dir = ourStateDir();
    const outcome = await exportUpstreamQueue(dir, recordingLogger(), clockAt('2026-05-16T03:00:00Z'));
    expect(outcome?.exported.map((e) => path.basename(e.file))).toEqual(FIXTURE_FILES);
    const queue = path.join(dir, UPSTREAM_QUEUE_DIR);
    expect(fs.readdirSync(queue).sort()).toEqual(FIXTURE_FILES);
    for (const name of FIXTURE_FILES) {
      const text = fs.readFileSync(path.join(queue, name), 'utf8');
      expect(text).toBe(fs.readFileSync(path.join(FIXTURE, name), 'utf8'));
      expect(E.isRight(decodeQueueFile(name, text))).toBe(true);
    }
    expect(outcome?.seqClashes).toEqual([]);
    const { store } = openStore(dir);
    expect(store.pending(10).map((q) => q.seq)).toEqual([3, 4]);
    store.close();
  });

  it('exported, then this agent started again instead: every event once, with its seq', async () => {
    const dir = ourStateDir();
    await exportUpstreamQueue(dir, recordingLogger(), clockAt('2026-05-16T03:00:00Z'));
    const { store, log } = openStore(dir);
    const outcome = importUpstreamQueue(store, dir, log, clockAt('2026-05-16T03:00:01Z'));
    expect(outcome).toMatchObject({ imported: 0, alreadyQueued: 2, setAside: [] });
    expect(store.pending(10).map((q) => q.seq)).toEqual([3, 4]);
    expect(fs.existsSync(path.join(dir, UPSTREAM_QUEUE_DIR))).toBe(false);
    store.close();
  });

  it('refuses while an agent holds the state directory', async () => {
    const dir = ourStateDir();
    const lock = await acquireInstanceLock(dir, '2026-05-16T03:00:00Z');
    try {
      await expect(exportUpstreamQueue(dir, recordingLogger(), clockAt('x'))).rejects.toThrow(/another agent|pid/i);
      expect(fs.existsSync(path.join(dir, UPSTREAM_QUEUE_DIR))).toBe(false);
    } finally {
      lock.release();
    }
  });

  it('a state directory without a database: nothing to export, nothing created', async () => {
    const dir = track(tempDir('upstream-export'));
    expect(await exportUpstreamQueue(dir, recordingLogger(), clockAt('x'))).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

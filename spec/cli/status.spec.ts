// `status` prints what the store holds, and the store holds text that came
// from the CP: a record whose strings carry terminal escapes must come out
// with every control character written as visible text, in both outputs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeJson } from '../../src/codecs/decode';
import { HostRolloutState } from '../../src/codecs/host-state';
import { readStatus, renderStatus, statusJson } from '../../src/cli/status';
import { AgentStore } from '../../src/io/store';
import { silentLogger } from '../../src/ports/logger';
import { ts } from '../support/decode';

// CR, ESC (colour and an OSC window title), LF, BEL, a one-character CSI, a line separator.
const EVIL = 'x\r\x1b[2J\x1b]0;owned\x07\ny\u009b31mz\u2028w';
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/; // LF aside: status prints one item per line

const NOW = '2026-05-17T10:00:00Z';

const record = (): HostRolloutState => ({
  rolloutId: `stable@${EVIL}`,
  hostname: 'web-01',
  channel: `stable${EVIL}`,
  state: 'Soaking',
  targetClosure: `5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-${EVIL}`,
  currentClosureAtDispatch: EVIL,
  dispatchedAt: ts('2026-05-17T09:59:00Z'),
  probes: { [`nginx${EVIL}`]: { status: 'fail', mode: 'enforce', lastObservedAt: ts('2026-05-17T09:59:30Z'), failureReason: EVIL } },
  lastEventSeq: 4,
});

describe('status output escapes control characters', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-status-'));
    const store = AgentStore.open({ stateDir: dir, logger: silentLogger, clock: () => NOW });
    try {
      store.saveRollouts([{ rolloutId: `stable@${EVIL}`, record: encodeJson(HostRolloutState, record()), updatedAt: NOW }]);
      store.confirmClosure({ closure: EVIL, confirmedAt: NOW });
    } finally {
      store.close();
    }
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('text: no raw control character on any line; each escape is spelled out', () => {
    const report = readStatus(dir);
    expect(report?.rollouts).toHaveLength(1); // the record really was read back
    const out = renderStatus(report, dir);
    const lines = out.split('\n');
    for (const line of lines) expect(line).not.toMatch(RAW);
    expect(out).toContain('Last confirmed closure: x\\r\\x1b[2J\\x1b]0;owned\\x07\\ny\\x9b31mz\\u2028w (since 2026-05-17T10:00:00Z)');
    // The LF inside a value does not start a line of its own.
    expect(lines.filter((l) => l.startsWith('y'))).toEqual([]);
    expect(out).toContain('probe nginxx\\r');
  });

  it('json: the same values, C1 and U+2028 as \\uNNNN, nothing raw', () => {
    const text = statusJson(readStatus(dir), dir);
    expect(text).not.toMatch(RAW);
    expect(text).toContain('\\u009b');
    expect(text).toContain('\\u2028');
    const parsed = JSON.parse(text) as { lastConfirmedClosure: { closure: string }; rollouts: { rolloutId: string }[] };
    expect(parsed.lastConfirmedClosure.closure).toBe(EVIL);
    expect(parsed.rollouts[0]?.rolloutId).toBe(`stable@${EVIL}`);
  });

  it('the state directory named in "no state yet" is escaped too', () => {
    expect(renderStatus(undefined, `/tmp/a${EVIL}`)).not.toMatch(RAW);
    expect(statusJson(undefined, `/tmp/a${EVIL}`)).not.toMatch(RAW);
  });
});

describe('status tells a signed dispatch from what the control plane reported', () => {
  it('marks each record, in text and in JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-status-'));
    try {
      const store = AgentStore.open({ stateDir: dir, logger: silentLogger, clock: () => NOW });
      const row = (id: string) => ({ rolloutId: id, record: encodeJson(HostRolloutState, { ...record(), rolloutId: id, targetClosure: 't' }), updatedAt: NOW });
      store.saveRollouts([{ ...row('stable@mine'), signedIntent: JSON.stringify({ targetClosure: 't', signedAt: NOW }) }, row('stable@cp')]);
      store.close();
      const report = readStatus(dir);
      expect(report?.rollouts.map((r) => [r.rolloutId, r.signed])).toEqual([
        ['stable@mine', true],
        ['stable@cp', false],
      ]);
      const text = renderStatus(report, dir);
      expect(text).toContain('target   t (signed dispatch)');
      expect(text).toContain('target   t (as the control plane reports it; not dispatched here)');
      expect((JSON.parse(statusJson(report, dir)) as { rollouts: { signed: boolean }[] }).rollouts.map((r) => r.signed)).toEqual([true, false]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { compact, renderSummary, type SummaryHost } from '../../src/demo/summary';
import { displayWidth } from '../../src/demo/text';
import { plainLine, redraw, renderFrame, type Frame, type HostRow } from '../../src/demo/view';

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
const plain = (line: string) => line.replace(SGR, '');
const HASH = 'n6ma74xj9phnbvfz7kq0c8j10a69b06j';

const row = (host: string, closure = `nixos-system-${host}-v2`): HostRow => ({
  host,
  state: 'Soaking',
  closure: `${HASH}-${closure}`,
  probe: 'system-health: pass',
  queued: 7,
  delivered: 7,
});
const frameOf = (hosts: HostRow[]): Frame => ({
  title: 'rollout 1: a good closure, 15 s soak',
  elapsed: ' 10.3 s',
  hosts,
  events: Array.from({ length: 9 }, (_, i) => `web-01 ProbeResult#${i + 1} applied`),
});

const FRAMES: Record<string, Frame> = {
  'the demo (two hosts)': frameOf([row('web-01'), { ...row('web-02'), state: undefined }]),
  'long host names': frameOf([row('web-frontend-eu-west-1-production-0001'), row('web-frontend-eu-west-1-production-0002')]),
  'wide characters': frameOf([row('ウェブ-01', '漢字-nixos-system-v2'), row('🚀-02', '🚀🚀-nixos-system-v2'), row('web-03')]),
  '30 hosts': frameOf(Array.from({ length: 30 }, (_, i) => row(`web-${String(i + 1).padStart(2, '0')}`))),
};
const SCREENS = [
  { width: 80, height: 24 },
  { width: 120, height: 24 },
  { width: 80, height: 10 },
  { width: 20, height: 4 },
];
const CASES = Object.entries(FRAMES).flatMap(([name, frame]) => SCREENS.flatMap((s) => [true, false].map((color) => [name, s.width, s.height, color, frame] as const)));

describe('renderFrame fits the terminal', () => {
  it.each(CASES)('%s on %i×%i (colour %s)', (_name, width, height, color, frame) => {
    const lines = renderFrame(frame, { width, height, color });
    expect(lines.length).toBeGreaterThan(0);
    // One row free at the bottom: the newline after the last line never scrolls.
    expect(lines.length).toBeLessThanOrEqual(height - 1);
    for (const line of lines) {
      expect(displayWidth(plain(line))).toBeLessThanOrEqual(width);
      // Only whole SGR sequences, and none at all without colour.
      expect(plain(line)).not.toContain('\x1b');
      if (!color) expect(line).toBe(plain(line));
    }
  });
});

describe('renderFrame layout', () => {
  const render = (name: string, width: number, height = 24) => renderFrame(FRAMES[name] as Frame, { width, height, color: false });

  it.each([80, 120])('the demo at %i columns: nothing cut, every column readable', (width) => {
    const lines = render('the demo (two hosts)', width);
    expect(lines.join('\n')).not.toContain('…');
    expect(lines[2]).toMatch(/^host +CP mirror +running closure +probe +queued\/acked$/);
    expect(lines[3]).toMatch(/^web-01 +Soaking +nixos-system-web-01-v2 +system-health: pass +7\/7$/);
    expect(lines[4]).toMatch(/^web-02 +— +nixos-system-web-02-v2 +system-health: pass +7\/7$/);
    // The latest six events, oldest first.
    expect(lines.slice(-6)).toEqual([4, 5, 6, 7, 8, 9].map((i) => `  web-01 ProbeResult#${i} applied`));
  });

  it.each([
    [80, 20],
    [120, 30],
  ])('long host names at %i columns: cut to %i cells with an ellipsis; the counters stay', (width, hostCells) => {
    const lines = render('long host names', width);
    const host = lines[3] ?? '';
    expect(host.slice(0, hostCells)).toBe(`${'web-frontend-eu-west-1-production-0001'.slice(0, hostCells - 1)}…`);
    expect(host).toMatch(/7\/7$/);
    expect(displayWidth(host)).toBeLessThanOrEqual(width);
  });

  it('wide characters: columns line up by display cells, not by string length', () => {
    const lines = render('wide characters', 80);
    const stateAt = (line: string) => displayWidth(line.slice(0, line.search(/Soaking|CP mirror/)));
    const [header = '', ...rows] = lines.slice(2, 6);
    expect(rows.map(stateAt)).toEqual([stateAt(header), stateAt(header), stateAt(header)]);
    expect(rows[0]).toContain('漢字-nixos-system-v2');
    expect((rows[0] ?? '').length).toBeLessThan(displayWidth(rows[0] ?? ''));
  });

  it('more hosts than rows: as many as fit, then how many are left', () => {
    const lines = render('30 hosts', 80, 24);
    expect(lines).toHaveLength(23);
    expect(lines[21]).toMatch(/^web-19 /);
    expect(lines[22]).toBe('… 11 more hosts');
  });

  it('a short terminal drops events before hosts', () => {
    const lines = render('the demo (two hosts)', 80, 10);
    expect(lines).toHaveLength(9);
    expect(lines.slice(3, 5).map((l) => l.slice(0, 6))).toEqual(['web-01', 'web-02']);
    expect(lines.slice(-2)).toEqual(['  web-01 ProbeResult#8 applied', '  web-01 ProbeResult#9 applied']);
  });
});

describe('redraw and plain output', () => {
  it.each([
    ['the first frame: from here, each row cleared, then the rest of the screen', 0, '\r\x1b[2Ka\n\x1b[2Kb\n\x1b[J'],
    ['later frames: up by the rows drawn last time first', 13, '\x1b[13A\r\x1b[2Ka\n\x1b[2Kb\n\x1b[J'],
    ['after a resize: clear the screen, draw from the top', null, '\x1b[H\x1b[2J\x1b[2Ka\n\x1b[2Kb\n\x1b[J'],
  ] as const)('%s', (_what, previous, bytes) => {
    expect(redraw(previous, ['a', 'b'])).toBe(bytes);
  });

  it('a plain line: elapsed, title and each host state, no escape sequences', () => {
    expect(plainLine(FRAMES['the demo (two hosts)'] as Frame)).toBe(' 10.3 s  rollout 1: a good closure, 15 s soak: web-01=Soaking web-02=-');
  });
});

describe('summary', () => {
  const check = (kinds: string[], problems: string[] = []) => ({ ok: problems.length === 0, problems, kinds, duplicates: 0 });
  const KINDS = ['DispatchAck#1', 'ActivationStarted#2', 'ActivationCompleted#3', 'ProbeTopologyDeclared#4', 'ProbeObservedFirst#5', 'ProbeResult#6', 'ProbeResult#7', 'ProbeResult#8', 'Converged#9'];
  const host = (name: string, over: Partial<SummaryHost> = {}): SummaryHost => ({ host: name, state: 'Converged', closure: `${HASH}-v2`, runs: `${HASH}-v2`, check: check(KINDS), ...over });
  const summary = (hosts: SummaryHost[]) =>
    renderSummary({ rollouts: [{ title: 'rollout 1', rolloutId: `stable@${'a'.repeat(40)}`, seconds: 15.5, expected: 'Converged', hosts }], queued: 18, delivered: 18, elapsed: '29.5 s' }, { width: 80, height: 24, color: false });

  it('fits 80 columns; hosts whose CP saw the same events share one wrapped list', () => {
    const { lines, ok } = summary([host('web-01'), host('web-02')]);
    expect(ok).toBe(true);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(lines).toContain('  web-01, web-02: the CP received each event once, seqs contiguous:');
    expect(lines.filter((l) => l.startsWith('    ')).join(' ')).toContain('ProbeResult#6-8 Converged#9');
    expect(lines.at(-1)).toBe('Both rollouts ended as expected.');
  });

  it.each([
    ['a host in another state', host('web-02', { state: 'Failed' }), '  web-02  Failed     on v2, which the host runs'],
    ['a gap in what the CP applied', host('web-02', { check: check(KINDS, ['seq 9 applied after 7 (gap)']) }), '  web-02: seq 9 applied after 7 (gap)'],
    ['a host running something else', host('web-02', { state: 'Failed', runs: `${HASH}-v1` }), '  web-02  Failed     on v2, but the host runs v1'],
  ])('%s: not ok, and says why', (_what, bad, line) => {
    const { lines, ok } = summary([host('web-01'), bad]);
    expect(ok).toBe(false);
    expect(lines).toContain(line);
    expect(lines.at(-1)).toBe('Something did not end as expected (see above).');
  });

  it('compacts runs of one kind with consecutive seqs', () => {
    expect(compact(['A#1', 'B#2', 'B#3', 'B#4', 'C#5', 'B#7'])).toEqual(['A#1', 'B#2-4', 'C#5', 'B#7']);
  });
});

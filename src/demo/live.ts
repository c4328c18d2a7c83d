// The shell around the live view: reads the fleet into a Frame, and draws it
// every 250 ms: redrawn in place on a terminal (sized at every draw, so a
// resize takes effect at once), one appended line per change elsewhere.
import { interval } from 'rxjs';
import type { DemoFleet } from './fleet';
import { plainLine, redraw, renderFrame, type Frame, type Screen } from './view';

export interface Phase {
  readonly title: string;
  rolloutId?: string;
}

export const screenOf = (out: NodeJS.WriteStream): Screen =>
  out.isTTY === true ? { width: out.columns || 80, height: out.rows || 24, color: true } : { width: Infinity, height: Infinity, color: false };

function frame(fleet: DemoFleet, hosts: readonly string[], phase: Phase, elapsed: string): Frame {
  const id = phase.rolloutId;
  return {
    title: phase.title,
    elapsed,
    hosts: hosts.map((host) => {
      const agent = fleet.agent(host);
      const r = id === undefined ? undefined : fleet.cp.record(id, host);
      const probe = r === undefined ? undefined : Object.entries(r.probes)[0];
      return { host, state: r?.state, closure: agent.tree.current(), probe: probe && `${probe[0]}: ${probe[1].status}`, queued: agent.queued, delivered: agent.delivered };
    }),
    events: fleet.cp.events(id).slice(-6).map((e) => `${e.host} ${e.event.kind}#${e.event.seq} ${e.outcome}`),
  };
}

/** Starts drawing; the returned function stops and draws the last frame. */
export function startView(fleet: DemoFleet, hosts: readonly string[], phase: Phase, elapsed: () => string, out: NodeJS.WriteStream = process.stdout): () => void {
  let drawn: { rows: number; width: number; height: number } | undefined;
  let lastPlain = '';
  const draw = () => {
    const f = frame(fleet, hosts, phase, elapsed());
    const s = screenOf(out);
    if (!s.color) {
      const plain = plainLine({ ...f, elapsed: '' });
      if (plain !== lastPlain) out.write(`${plainLine(f)}\n`);
      lastPlain = plain;
      return;
    }
    const lines = renderFrame(f, s);
    const same = drawn !== undefined && drawn.width === s.width && drawn.height === s.height;
    out.write(redraw(drawn === undefined ? 0 : same ? drawn.rows : null, lines));
    drawn = { rows: lines.length, width: s.width, height: s.height };
  };
  const redrawing = interval(250).subscribe(draw);
  draw();
  return () => {
    redrawing.unsubscribe();
    draw();
  };
}

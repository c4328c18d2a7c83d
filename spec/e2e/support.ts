// End-to-end helpers: a fleet of real daemon processes (built dist/) against
// the development CP, and what the CP received, per host and rollout.
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { HostRolloutState } from '../../src/codecs/host-state';
import { DemoFleet, type FleetOptions } from '../../src/demo/fleet';
import { checkSequence } from '../../src/demo/sequence';

export const E2E_TIMEOUT_MS = 150_000;

export async function fleetOf(hosts: string[], opts: Partial<FleetOptions> = {}): Promise<DemoFleet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-'));
  return DemoFleet.create({ dir, hosts, ...opts });
}

export const waitState = (fleet: DemoFleet, rolloutId: string, host: string, state: HostRolloutState['state'], timeoutMs = 60_000) =>
  fleet.waitFor(`${host} ${state} in ${rolloutId}`, () => (fleet.cp.record(rolloutId, host)?.state === state ? true : undefined), timeoutMs);

/** `kind#seq` of every event the CP applied for host+rollout, after checking contiguity and no double counting. */
export function received(fleet: DemoFleet, rolloutId: string, host: string): string[] {
  const check = checkSequence(fleet.cp.events(rolloutId).filter((e) => e.host === host));
  if (!check.ok) throw new Error(`${host} ${rolloutId}: ${check.problems.join('; ')} — ${check.kinds.join(' ')}`);
  return [...check.kinds];
}

/** Kinds only, with repeated ProbeResults collapsed (their count depends on timing). */
export const shape = (kinds: string[]): string[] =>
  kinds.map((k) => k.split('#')[0] ?? k).filter((k, i, all) => !(k === 'ProbeResult' && all[i - 1] === 'ProbeResult'));

export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) =>
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject),
  );
}

/** The agent's `rollout state changed` line for `from → to` (from any state when `from` is omitted). */
export const transitionLine = (to: string, from?: string) => (l: { readonly message: unknown; readonly [field: string]: unknown }): boolean =>
  l.message === 'rollout state changed' && l['to'] === to && (from === undefined || l['from'] === from);

/** Polls an async check until it yields a value. */
export async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const start = performance.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** On failure, what the CP recorded and the agent's last words, to tell a slow run from a stuck one. */
export async function explained<T>(wait: Promise<T>, fleet: DemoFleet, rolloutId: string, host = 'web-01'): Promise<T> {
  return wait.catch((err: unknown) => {
    const agent = fleet.agent(host);
    const events = fleet.cp.events(rolloutId).map((e) => `${e.event.kind}#${e.event.seq}:${e.outcome}`);
    const tail = agent.lines.filter((l) => l.level !== 'debug').slice(-40);
    throw new Error(
      [
        String(err),
        `CP record: ${JSON.stringify(fleet.cp.record(rolloutId, host))}`,
        `CP events: ${events.join(' ')}`,
        'agent:',
        ...tail.map((l) => `${l.at ?? ''} ${l.level} ${l.message} ${JSON.stringify(l).slice(0, 200)}`),
      ].join('\n'),
    );
  });
}

// The built daemon behind an egress proxy: HTTPS_PROXY in its environment, a
// real CONNECT proxy on loopback (spec/support/connect-proxy.ts), the dev CP
// behind it. Enrollment and the whole rollout go through the tunnel with mTLS
// end to end; a proxy that is down is reported as such and the agent carries
// on once it is back; a proxy variable it cannot use stops the start.
import type { Request } from '../../src/devcp/http';
import type { DemoFleet } from '../../src/demo/fleet';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy';
import { E2E_TIMEOUT_MS, fleetOf, shape, received, waitState } from './support';

jest.setTimeout(E2E_TIMEOUT_MS);

const cpAddress = (fleet: DemoFleet): string => new URL(fleet.cp.url).host;

/** The CN of the client certificate the CP saw on each agent request (enrollment has none). */
function watchPeers(fleet: DemoFleet): string[] {
  const seen: string[] = [];
  fleet.cp.setInterceptor((req: Request) => {
    if (req.path !== '/v1/enroll') seen.push(req.peer?.cn ?? '(none)');
    return undefined;
  });
  return seen;
}

describe('end to end, through an HTTP proxy', () => {
  let fleet: DemoFleet | undefined;
  let proxy: ConnectProxy | undefined;
  afterEach(async () => {
    await fleet?.close();
    await proxy?.close();
    fleet = undefined;
    proxy = undefined;
  });

  it('enrolls and converges through CONNECT tunnels, the CP seeing the client certificate', async () => {
    proxy = await startConnectProxy({ credentials: 'fleet:pw' });
    fleet = await fleetOf(['web-01'], { agentEnv: { HTTPS_PROXY: `http://fleet:pw@127.0.0.1:${proxy.port}`, NO_PROXY: 'cp.example' } });
    const peers = watchPeers(fleet);
    const agent = fleet.agent('web-01');
    agent.start();
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    await waitState(fleet, rolloutId, 'web-01', 'Converged');
    expect(shape(received(fleet, rolloutId, 'web-01'))).toContain('Converged');
    expect(peers.length).toBeGreaterThan(3);
    expect(new Set(peers)).toEqual(new Set(['agent-web-01.fleet.lab.internal'])); // the dev CP's CN for web-01
    // Every connection of the agent went through the proxy, to the CP, authorised.
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(peers.length + 1);
    expect(new Set(proxy.tunnels.map((t) => `${t.target} ${t.status} ${t.authorization ?? ''}`))).toEqual(
      new Set([`${cpAddress(fleet)} 200 Basic ${Buffer.from('fleet:pw').toString('base64')}`]),
    );
    expect(agent.lines.some((l) => l.message === 'using proxies from the environment' && l['https'] === `http://127.0.0.1:${proxy?.port}`)).toBe(true);
  });

  it('a proxy that is down is named in the log; the agent enrolls and converges once it is up', async () => {
    const reserved = await startConnectProxy();
    const port = reserved.port;
    await reserved.close();
    fleet = await fleetOf(['web-01'], { agentEnv: { https_proxy: `127.0.0.1:${port}` } });
    const agent = fleet.agent('web-01');
    agent.start();
    const named = `proxy http://127.0.0.1:${port} (https_proxy): ECONNREFUSED`;
    await fleet.waitFor('the refused proxy in the log', () => (agent.lines.some((l) => JSON.stringify(l).includes(named)) ? true : undefined), 30_000);
    expect(agent.child?.exitCode).toBeNull();
    proxy = await startConnectProxy({ port });
    const target = agent.tree.closure('nixos-system-web-01-v2');
    const { rolloutId } = fleet.cp.release({ closures: { 'web-01': target }, policy: 'halt', soakMinutes: 0.1 });
    await waitState(fleet, rolloutId, 'web-01', 'Converged', 90_000);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
  });

  it('a proxy variable it cannot use (socks5) stops the start, naming the variable', async () => {
    fleet = await fleetOf(['web-01'], { agentEnv: { ALL_PROXY: 'socks5://user:secret@127.0.0.1:1080' } });
    const agent = fleet.agent('web-01');
    agent.start();
    expect(await fleet.waitFor('the agent to exit', () => agent.child?.exitCode ?? undefined, 30_000)).toBe(1);
    const line = agent.lines.find((l) => l.message === 'proxy settings unusable');
    expect(String(line?.['error'])).toMatch(/^ALL_PROXY: socks5:\/\/\*\*\*@127\.0\.0\.1:1080: only http:\/\/ proxies are supported, not SOCKS/);
    expect(JSON.stringify(agent.lines)).not.toContain('secret');
  });
});

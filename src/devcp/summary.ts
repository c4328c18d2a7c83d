// What `nixfleet-agent dev-cp` prints once it listens: the URL, the files an
// agent needs, and per host an agent command line that works against this
// CP as pasted (absolute paths, shell-quoted; the agent creates its state
// directory and the certificate's directory itself).
import * as path from 'node:path';
import { DEFAULT_SSH_HOST_KEY_FILE } from '../cli/options';

export interface Summary {
  readonly url: string;
  readonly stateDir: string;
  readonly caCert: string;
  readonly trust: string;
  readonly adminToken: string | undefined;
  /** host → bootstrap token file. */
  readonly tokens: Readonly<Record<string, string>>;
  /** host → the agent command line. */
  readonly agents: Readonly<Record<string, string>>;
  readonly rolloutId?: string;
  readonly rolloutHosts?: readonly string[];
}

/** POSIX shell quoting: bare when only safe characters, else single quotes. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface AgentFor {
  readonly url: string;
  readonly host: string;
  readonly caCert: string;
  readonly trust: string;
  readonly token: string;
  /** The host's SSH ed25519 private key; the agent's default location when the CP only has the public half. */
  readonly clientKey: string | undefined;
  readonly stateDir: string;
}

/** The agent's argv (after the program name) for `host`, its own files under `<CP state dir>/agents/<host>/`. */
export function agentArgv(a: AgentFor): string[] {
  const dir = path.resolve(a.stateDir, 'agents', a.host);
  return [
    '--control-plane-url', a.url,
    '--machine-id', a.host,
    '--ca-cert', path.resolve(a.caCert),
    '--trust-file', path.resolve(a.trust),
    '--bootstrap-token-file', path.resolve(a.token),
    '--client-cert', path.join(dir, 'agent-cert.pem'),
    '--client-key', a.clientKey ?? DEFAULT_SSH_HOST_KEY_FILE,
    '--state-dir', path.join(dir, 'state'),
  ];
}

export const agentCommandLine = (a: AgentFor): string => ['nixfleet-agent', ...agentArgv(a)].map(shellQuote).join(' ');

export function summaryText(s: Summary): string {
  const lines = [
    'nixfleet dev control plane',
    `  url          ${s.url}`,
    `  ca cert      ${s.caCert}`,
    `  trust.json   ${s.trust}`,
    ...Object.entries(s.tokens).map(([h, f]) => `  token        ${f}  (${h})`),
    `  admin token  ${s.adminToken ?? '-'}`,
    `  state dir    ${s.stateDir}`,
    ...(s.rolloutId !== undefined ? [`  rollout      ${s.rolloutId}  (${(s.rolloutHosts ?? []).join(', ')})`] : []),
    ...Object.entries(s.agents).flatMap(([h, line]) => ['', `agent ${h}, as a command line:`, line]),
    '',
    'running; stop with SIGTERM or SIGINT',
  ];
  return lines.join('\n') + '\n';
}

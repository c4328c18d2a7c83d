// Every upstream flag and its environment variable, with defaults and the
// usage errors a bad value gets (reference agent-runtime.md §2.1).
import { parseInvocation, type Invocation } from '../../src/cli/program';

const REQUIRED = ['--control-plane-url', 'https://cp.example:8443/', '--machine-id', 'web-01', '--trust-file', '/etc/nixfleet/agent/trust.json', '--ca-cert', '/etc/nixfleet/fleet-ca.pem'];
const INSECURE_FLAG = '--insecure-allow-plain-http-for-development';
const INSECURE_ENV = 'NIXFLEET_AGENT_INSECURE_ALLOW_PLAIN_HTTP_FOR_DEVELOPMENT';

function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

const run = (argv: string[], env: Record<string, string> = {}): Invocation => withEnv(env, () => parseInvocation(argv, '9.9.9'));
const options = (argv: string[], env: Record<string, string> = {}) => {
  const r = run(argv, env);
  if (r.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(r)}`);
  return r.options;
};

const usageError = (r: Invocation): string => {
  expect(r).toMatchObject({ kind: 'exit', code: 2 });
  return r.kind === 'exit' ? r.stderr : '';
};

describe('daemon flags', () => {
  it('takes the required flags and applies upstream defaults', () => {
    expect(options(REQUIRED)).toEqual({
      controlPlaneUrl: 'https://cp.example:8443',
      machineId: 'web-01',
      trustFile: '/etc/nixfleet/agent/trust.json',
      caCert: '/etc/nixfleet/fleet-ca.pem',
      manifestFreshnessWindowSecs: 3600,
      stateDir: '/var/lib/nixfleet-agent',
      sshHostKeyFile: '/etc/ssh/ssh_host_ed25519_key',
      logLevel: 'info',
      logFormat: 'auto',
      hostRoot: '/',
      sustainedFailureThresholdSecs: 120,
      workerPeriods: {},
    });
  });

  const EVERY: [string, string, string, string | number][] = [
    ['--control-plane-url', 'NIXFLEET_AGENT_CP_URL', 'https://other:1', 'controlPlaneUrl'],
    ['--machine-id', 'NIXFLEET_AGENT_MACHINE_ID', 'db-02', 'machineId'],
    ['--trust-file', 'NIXFLEET_AGENT_TRUST_FILE', '/t.json', 'trustFile'],
    ['--ca-cert', 'NIXFLEET_AGENT_CA_CERT', '/ca.pem', 'caCert'],
    ['--client-cert', 'NIXFLEET_AGENT_CLIENT_CERT', '/c.pem', 'clientCert'],
    ['--client-key', 'NIXFLEET_AGENT_CLIENT_KEY', '/k', 'clientKey'],
    ['--manifest-freshness-window-secs', 'NIXFLEET_AGENT_MANIFEST_FRESHNESS_WINDOW_SECS', '31536000', 'manifestFreshnessWindowSecs'],
    ['--bootstrap-token-file', 'NIXFLEET_AGENT_BOOTSTRAP_TOKEN_FILE', '/run/secrets/token', 'bootstrapTokenFile'],
    ['--state-dir', 'NIXFLEET_AGENT_STATE_DIR', '/tmp/state', 'stateDir'],
    ['--ssh-host-key-file', 'NIXFLEET_AGENT_SSH_HOST_KEY_FILE', '/k2', 'sshHostKeyFile'],
    ['--renewal-threshold-fraction', 'NIXFLEET_AGENT_RENEWAL_THRESHOLD_FRACTION', '0.5', 'renewalThresholdFraction'],
    ['--metrics-listen', 'NIXFLEET_AGENT_METRICS_LISTEN', '127.0.0.1:9101', 'metricsListen'],
    ['--log-level', 'NIXFLEET_AGENT_LOG_LEVEL', 'debug', 'logLevel'],
    ['--log-format', 'NIXFLEET_AGENT_LOG_FORMAT', 'json', 'logFormat'],
    ['--host-root', 'NIXFLEET_AGENT_HOST_ROOT', '/tmp/host', 'hostRoot'],
    ['--sustained-failure-threshold-secs', 'NIXFLEET_AGENT_SUSTAINED_FAILURE_THRESHOLD_SECS', '15', 'sustainedFailureThresholdSecs'],
  ];
  const parsed = (key: string, raw: string) => (['manifestFreshnessWindowSecs', 'renewalThresholdFraction', 'sustainedFailureThresholdSecs'].includes(key) ? Number(raw) : raw);

  it.each(EVERY)('%s (env %s) is parsed from the flag and from the environment; the flag wins', (flag, env, value, key) => {
    // A token needs the cert and key it enrolls for.
    const base = [...REQUIRED.filter((_, i) => REQUIRED[i - (i % 2)] !== flag), ...(key === 'bootstrapTokenFile' ? ['--client-cert', '/c', '--client-key', '/k'] : [])];
    expect(options([...base, flag, value])).toMatchObject({ [key]: parsed(String(key), value) });
    expect(options(base, { [env]: value })).toMatchObject({ [key]: parsed(String(key), value) });
    if (!/url|level|format|listen|fraction|secs/.test(flag)) {
      expect(options([...base, flag, `${value}-flag`], { [env]: value })).toMatchObject({ [key]: `${value}-flag` });
    }
  });

  it.each([
    [[], "error: required option '--control-plane-url <url>' not specified"],
    [['--control-plane-url', 'https://cp', '--trust-file', 't'], "error: required option '--machine-id <id>' not specified"],
    [['--control-plane-url', 'https://cp', '--machine-id', 'w'], "error: required option '--trust-file <path>' not specified"],
    [[...REQUIRED, '--control-plane-url', 'ftp://x'], 'must be an http(s) URL'],
    [[...REQUIRED, '--control-plane-url', 'not a url'], 'not a URL'],
    [[...REQUIRED, '--machine-id', ' '], '--machine-id must not be empty'],
    [[...REQUIRED, '--manifest-freshness-window-secs', '-1'], 'must be a non-negative integer'],
    [[...REQUIRED, '--manifest-freshness-window-secs', '1.5'], 'must be a non-negative integer'],
    [[...REQUIRED, '--renewal-threshold-fraction', 'half'], 'must be a number (renewal runs strictly between 0 and 1), got "half"'],
    [[...REQUIRED, '--renewal-threshold-fraction', ''], 'must be a number'],
    [[...REQUIRED, '--metrics-listen', '0.0.0.0:9101'], 'must be a loopback host:port'],
    [[...REQUIRED, '--log-level', 'loud'], "argument 'loud' is invalid. Allowed choices are debug, info, warn, error"],
    [[...REQUIRED, '--poll-interval', '30'], "error: unknown option '--poll-interval'"],
    [[...REQUIRED, '--worker-periods', 'tick=5'], 'expected tick=<ms>,heartbeat=<ms>,manifestPoll=<ms>,drain=<ms> (each from 10 to 2147483647)'],
    // Above Node's timer limit a delay fires after 1 ms: a busy loop, refused.
    [[...REQUIRED, '--worker-periods', 'heartbeat=2147483648'], 'expected tick=<ms>'],
    [[...REQUIRED, '--manifest-freshness-window-secs', '0'], '--manifest-freshness-window-secs must be at least 1, got "0"'],
    [[...REQUIRED, '--worker-periods', 'longpoll=100'], 'expected tick=<ms>'],
  ])('%j exits 2: %s', (argv, message) => {
    const r = run(argv);
    expect(r).toMatchObject({ kind: 'exit', code: 2 });
    expect(r.kind === 'exit' && r.stderr).toContain(message);
  });

  it.each([['0', 0], ['1', 1], ['1.5', 1.5], ['-0.2', -0.2]])('a renewal threshold outside (0, 1) (%s) is no usage error: upstream runs with renewal off', (raw, value) => {
    expect(options([...REQUIRED, '--renewal-threshold-fraction', raw])).toMatchObject({ renewalThresholdFraction: value });
  });

  it('honours RUST_LOG’s global level, as upstream, unless --log-level or its variable is given', () => {
    const level = (env: Record<string, string>, argv: string[] = []) => (options([...REQUIRED, ...argv], env) as { logLevel: string }).logLevel;
    expect(level({ RUST_LOG: 'debug' })).toBe('debug');
    expect(level({ RUST_LOG: 'hyper=warn,WARN' })).toBe('warn');
    expect(level({ RUST_LOG: 'trace' })).toBe('debug');
    expect(level({ RUST_LOG: 'off' })).toBe('error');
    // per-target only, or nonsense: the default stands
    expect(level({ RUST_LOG: 'nixfleet_agent=debug' })).toBe('info');
    expect(level({ RUST_LOG: 'loud' })).toBe('info');
    expect(level({ RUST_LOG: 'debug', NIXFLEET_AGENT_LOG_LEVEL: 'error' })).toBe('error');
    expect(level({ RUST_LOG: 'debug' }, ['--log-level', 'warn'])).toBe('warn');
  });

  describe('no plaintext, no public roots', () => {
    const withUrl = (url: string) => [...REQUIRED, '--control-plane-url', url];

    it.each(['http://cp.example:8080', 'HTTP://cp.example:8080/'])('refuses a plain-http control plane (%s)', (url) => {
      expect(usageError(run(withUrl(url)))).toBe(
        `error: option '--control-plane-url <url>' is plain http (${url.replace(/\/$/, '')}): the bootstrap token and every report would travel in clear; ` +
          `use https, or ${INSECURE_FLAG} against a development control plane\n`,
      );
    });

    it('refuses the same URL from the environment', () => {
      const base = REQUIRED.slice(2);
      expect(usageError(run(base, { NIXFLEET_AGENT_CP_URL: 'http://cp.example' }))).toContain('is plain http');
    });

    it(`${INSECURE_FLAG} (or ${INSECURE_ENV}=1) lets a development CP be plain http`, () => {
      expect(options([...withUrl('http://127.0.0.1:8080'), INSECURE_FLAG])).toMatchObject({ controlPlaneUrl: 'http://127.0.0.1:8080', insecureAllowPlainHttpForDevelopment: true });
      expect(options(withUrl('http://127.0.0.1:8080'), { [INSECURE_ENV]: '1' })).toMatchObject({ insecureAllowPlainHttpForDevelopment: true });
      expect(options(withUrl('http://127.0.0.1:8080'), { [INSECURE_ENV]: 'true' })).toMatchObject({ insecureAllowPlainHttpForDevelopment: true });
      // an https URL is unaffected by the flag, and without it the option is absent
      expect(options([...REQUIRED, INSECURE_FLAG])).toMatchObject({ controlPlaneUrl: 'https://cp.example:8443', insecureAllowPlainHttpForDevelopment: true });
      expect(options(REQUIRED)).not.toHaveProperty('insecureAllowPlainHttpForDevelopment');
    });

    it.each(['0', 'false', 'no', ''])(`${INSECURE_ENV}=%j is a usage error, never a yes`, (value) => {
      expect(usageError(run(withUrl('http://127.0.0.1:8080'), { [INSECURE_ENV]: value }))).toContain(`${INSECURE_ENV} must be 1 or true when set (unset it to refuse plain http), got ${JSON.stringify(value)}`);
    });

    it('refuses to start without --ca-cert rather than trust the public roots', () => {
      const noCa = REQUIRED.slice(0, 6);
      expect(usageError(run(noCa))).toBe(
        "error: required option '--ca-cert <path>' not specified: the agent trusts only the fleet CA that signs the control plane's certificate, never the public roots\n",
      );
      expect(options(noCa, { NIXFLEET_AGENT_CA_CERT: '/ca.pem' })).toMatchObject({ caCert: '/ca.pem' });
    });
  });

  it('a bootstrap token without --client-cert or --client-key is a usage error naming the flag', () => {
    const token = [...REQUIRED, '--bootstrap-token-file', '/run/token'];
    expect(usageError(run([...token, '--client-key', '/k']))).toContain("needs '--client-cert <path>'");
    expect(usageError(run([...token, '--client-cert', '/c']))).toContain("needs '--client-key <path>'");
    expect(options([...token, '--client-cert', '/c', '--client-key', '/k'])).toMatchObject({ bootstrapTokenFile: '/run/token' });
  });

  it('--worker-periods sets the periodic workers (tests and demos)', () => {
    expect(options([...REQUIRED, '--worker-periods', 'tick=1000, drain=2000'])).toMatchObject({ workerPeriods: { tick: 1000, drain: 2000 } });
    expect(options(REQUIRED, { NIXFLEET_AGENT_WORKER_PERIODS: 'heartbeat=5000' })).toMatchObject({ workerPeriods: { heartbeat: 5000 } });
  });

  it('rejects a bad value from the environment too', () => {
    const r = run(REQUIRED, { NIXFLEET_AGENT_RENEWAL_THRESHOLD_FRACTION: 'half' });
    expect(r).toMatchObject({ kind: 'exit', code: 2 });
  });

  it('--help and --version exit 0', () => {
    const help = run(['--help']);
    expect(help).toMatchObject({ kind: 'exit', code: 0 });
    expect(help.kind === 'exit' && help.stdout).toContain('--control-plane-url <url>');
    expect(run(['--version'])).toEqual({ kind: 'exit', code: 0, stdout: '9.9.9\n', stderr: '' });
  });
});

describe('subcommands', () => {
  it('status does not need the daemon flags', () => {
    expect(run(['status', '--state-dir', '/s', '--json'])).toEqual({ kind: 'status', stateDir: '/s', json: true });
    expect(run(['status'], { NIXFLEET_AGENT_STATE_DIR: '/from-env' })).toMatchObject({ stateDir: '/from-env' });
  });
  it('dev-cp passes its arguments through', () => {
    expect(run(['dev-cp', '--port', '8443'])).toEqual({ kind: 'dev-cp', args: ['--port', '8443'] });
  });
});

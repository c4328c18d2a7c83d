// flake.nix parses, and the NixOS module's unit is what it should be: the
// flag list (nix/agent-flags.nix) is fed to the real CLI parser, and the
// unit's attributes (nix/agent-service.nix, shared with the real-host suite)
// are evaluated with nix-instantiate — all pure builtins.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseInvocation } from '../../src/cli/program';

const root = path.resolve(__dirname, '../..');
// Parsing and pure evaluation need no store: the dummy one lets an ordinary
// user run this without a nix daemon (Nix >= 2.4; Debian's 2.8 has it).
const nix = (args: string[]) => execFileSync('nix-instantiate', ['--store', 'dummy://', ...args], { cwd: root, encoding: 'utf8' });

interface Service {
  readonly environment: Record<string, string>;
  readonly serviceConfig: Record<string, unknown>;
  readonly wantedBy: string[];
  readonly after: string[];
  readonly startLimitIntervalSec: number;
}

/** The unit's attributes for `cfg` laid over the module's defaults. */
function renderService(overrides: string): Service {
  const expr = `let d = import ./nix/agent-defaults.nix; in import ./nix/agent-service.nix { exe = "/pkg/bin/nixfleet-agent"; cfg = d // { controlPlaneUrl = "https://cp"; machineId = "web-01"; tls = d.tls // { caCert = "/ca.pem"; }; } // (${overrides}); }`;
  return JSON.parse(nix(['--eval', '--strict', '--json', '-E', expr])) as Service;
}

function renderFlags(cfg: string): string[] {
  return JSON.parse(nix(['--eval', '--strict', '--json', '-E', `import ./nix/agent-flags.nix (${cfg})`])) as string[];
}

const FULL = `{
  controlPlaneUrl = "https://cp.fleet.example:8443"; machineId = "web-01";
  trustFile = "/etc/nixfleet/agent/trust.json"; manifestFreshnessWindowSecs = 3600;
  stateDir = "/var/lib/nixfleet-agent"; sshHostKeyFile = "/etc/ssh/ssh_host_ed25519_key";
  renewalThresholdFraction = 0.5; metricsListen = "127.0.0.1:9101";
  tls = { caCert = "/etc/nixfleet/fleet-ca.pem"; clientCert = "/var/lib/nixfleet/agent-cert.pem"; clientKey = "/etc/ssh/ssh_host_ed25519_key"; };
  bootstrapTokenFile = "/run/secrets/bootstrap-token";
}`;
const MINIMAL = `{
  controlPlaneUrl = "https://cp"; machineId = "db-02"; trustFile = "/etc/nixfleet/agent/trust.json";
  manifestFreshnessWindowSecs = 60; stateDir = "/var/lib/nixfleet-agent"; sshHostKeyFile = "/k";
  renewalThresholdFraction = null; metricsListen = null; bootstrapTokenFile = null;
  tls = { caCert = "/etc/nixfleet/fleet-ca.pem"; clientCert = null; clientKey = null; };
}`;

describe('flake.nix', () => {
  it('parses', () => {
    expect(() => nix(['--parse', 'flake.nix'])).not.toThrow();
  });

  it('declares upstream’s module options', () => {
    const text = fs.readFileSync(path.join(root, 'flake.nix'), 'utf8');
    for (const name of ['enable', 'package', 'controlPlaneUrl', 'machineId', 'trustFile', 'manifestFreshnessWindowSecs', 'caCert', 'clientCert', 'clientKey', 'bootstrapTokenFile', 'stateDir', 'sshHostKeyFile', 'renewalThresholdFraction', 'tags', 'effectiveHealthChecks']) {
      expect([name, new RegExp(`\\b${name} = mk(Option|EnableOption)`).test(text)]).toEqual([name, true]);
    }
    expect(text).toContain('restartTriggers');
    // One source for the unit and the defaults: the real-host suite boots the same.
    expect(text).toContain('import ./nix/agent-service.nix');
    expect(text).toContain('inherit (service) description wantedBy after wants startLimitIntervalSec environment serviceConfig;');
    for (const d of ['trustFile', 'manifestFreshnessWindowSecs', 'tls.clientCert', 'tls.clientKey', 'stateDir', 'sshHostKeyFile', 'watchdogSec']) {
      expect([d, text.includes(`default = defaults.${d};`)]).toEqual([d, true]);
    }
  });

  it('renders a notify unit whose defaults work on a fresh host', () => {
    const s = renderService('{ }');
    expect(s.serviceConfig).toMatchObject({ Type: 'notify', NotifyAccess: 'main', WatchdogSec: 60, Restart: 'always', RestartSec: 30, TimeoutStopSec: 30 });
    expect(s.wantedBy).toEqual(['multi-user.target']);
    // As upstream: after the nix-daemon, no start limit, Nix's cache writable, NIXFLEET_TAGS only with tags.
    expect([s.after, s.startLimitIntervalSec]).toEqual([['network-online.target', 'nix-daemon.service'], 0]);
    expect(s.environment).toEqual({ NIX_REMOTE: 'daemon', XDG_CACHE_HOME: '/var/lib/nixfleet-agent/.cache' });
    // systemd creates both the state dir and the default certificate's dir before the agent starts.
    expect(s.serviceConfig['StateDirectory']).toEqual(['nixfleet-agent', 'nixfleet']);
    expect(s.serviceConfig['ReadWritePaths']).toEqual(['/nix/var/nix/profiles']);
    const cmd = String(s.serviceConfig['ExecStart']);
    expect(cmd).toContain('--client-cert /var/lib/nixfleet/agent-cert.pem');
    expect(cmd.startsWith('/pkg/bin/nixfleet-agent --control-plane-url https://cp ')).toBe(true);
  });

  it('makes a certificate directory outside /var/lib writable (it must exist) and quotes what needs quoting', () => {
    const s = renderService(`{ tls = { caCert = "/ca.pem"; clientCert = "/etc/nixfleet/cert.pem"; clientKey = "/k"; }; bootstrapTokenFile = "/run/keys/it's here"; tags = [ "a" "b" ]; }`);
    expect(s.serviceConfig['StateDirectory']).toEqual(['nixfleet-agent']);
    expect(s.serviceConfig['ReadWritePaths']).toEqual(['-/etc/nixfleet', '/nix/var/nix/profiles']);
    expect(String(s.serviceConfig['ExecStart'])).toContain(`--bootstrap-token-file '/run/keys/it'\\''s here'`);
    expect(s.environment['NIXFLEET_TAGS']).toBe('a,b');
  });

  it('renders an ExecStart the CLI accepts, with every option set', () => {
    const inv = parseInvocation(renderFlags(FULL), '0');
    expect(inv).toEqual({
      kind: 'run',
      options: {
        controlPlaneUrl: 'https://cp.fleet.example:8443',
        machineId: 'web-01',
        trustFile: '/etc/nixfleet/agent/trust.json',
        manifestFreshnessWindowSecs: 3600,
        stateDir: '/var/lib/nixfleet-agent',
        sshHostKeyFile: '/etc/ssh/ssh_host_ed25519_key',
        renewalThresholdFraction: 0.5,
        metricsListen: '127.0.0.1:9101',
        caCert: '/etc/nixfleet/fleet-ca.pem',
        clientCert: '/var/lib/nixfleet/agent-cert.pem',
        clientKey: '/etc/ssh/ssh_host_ed25519_key',
        bootstrapTokenFile: '/run/secrets/bootstrap-token',
        logLevel: 'info',
        logFormat: 'auto',
        hostRoot: '/',
        sustainedFailureThresholdSecs: 120,
        workerPeriods: {},
      },
    });
  });

  it('renders an ExecStart the CLI accepts, with the optional ones unset', () => {
    const flags = renderFlags(MINIMAL);
    expect(flags).not.toContain('--client-cert');
    expect(parseInvocation(flags, '0')).toMatchObject({ kind: 'run', options: { machineId: 'db-02', manifestFreshnessWindowSecs: 60, caCert: '/etc/nixfleet/fleet-ca.pem' } });
  });

  const evalError = (cfg: string): string => {
    const r = spawnSync('nix-instantiate', ['--store', 'dummy://', '--eval', '--strict', '--json', '-E', `import ./nix/agent-flags.nix (${cfg})`], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    return r.stderr;
  };

  it('refuses to render without a CA, and for a plain-http control plane', () => {
    expect(evalError(MINIMAL.replace('caCert = "/etc/nixfleet/fleet-ca.pem"', 'caCert = null'))).toContain(
      "services.nixfleet-agent.tls.caCert is required: the CA that signs the control plane's certificate (the agent never trusts the public roots)",
    );
    expect(evalError(MINIMAL.replace('"https://cp"', '"http://cp"'))).toContain('services.nixfleet-agent.controlPlaneUrl must be an https:// URL, got "http://cp"');
  });

  it('makes tls.caCert required (a path, no default) and never sets the plain-http development flag', () => {
    const text = fs.readFileSync(path.join(root, 'flake.nix'), 'utf8');
    expect(text).toMatch(/caCert = mkOption \{ type = types\.path; description = /);
    for (const file of ['flake.nix', 'nix/agent-flags.nix', 'nix/agent-service.nix', 'nix/agent-defaults.nix']) {
      expect([file, fs.readFileSync(path.join(root, file), 'utf8').includes('insecure-allow-plain-http')]).toEqual([file, false]);
    }
    expect(renderFlags(FULL)).not.toContain('--insecure-allow-plain-http-for-development');
  });

  it('writes health-checks.json only when a probe is declared, as upstream (no file: no topology, no probes), and trust.json only when given', () => {
    // The module itself, evaluated with a stub lib (spec/nix/module-stub.nix): what it puts in /etc and what restarts the agent.
    const module = (overrides: string) => JSON.parse(nix(['--eval', '--strict', '--json', '-E', `import ./spec/nix/module-stub.nix (${overrides})`])) as { etc: Record<string, string>; restartTriggers: string[] };
    expect(module('{ }')).toMatchObject({ etc: {}, restartTriggers: [], after: ['network-online.target', 'nix-daemon.service'], startLimitIntervalSec: 0 });
    const full = module('{ effectiveHealthChecks = { web = { kind = "http"; mode = "enforce"; url = "http://127.0.0.1/"; }; }; trust = { schemaVersion = 1; }; }');
    expect(full.etc).toEqual({
      'nixfleet/agent/health-checks.json': '/nix/store/fake-health-checks.json:{"web":{"kind":"http","mode":"enforce","url":"http://127.0.0.1/"}}',
      'nixfleet/agent/trust.json': '/nix/store/fake-trust.json:{"schemaVersion":1}',
    });
    expect(full.restartTriggers).toEqual(Object.values(full.etc));
  });

  it('sandboxes the unit (README "Hardening")', () => {
    const c = renderService('{ }').serviceConfig;
    expect(c).toMatchObject({
      UMask: '0077',
      StateDirectoryMode: '0700',
      ProtectSystem: 'strict',
      ProtectHome: 'read-only',
      PrivateTmp: true,
      PrivateDevices: true,
      ProtectKernelTunables: true,
      ProtectKernelModules: true,
      ProtectKernelLogs: true,
      ProtectControlGroups: true,
      ProtectClock: true,
      ProtectHostname: true,
      RestrictNamespaces: true,
      RestrictRealtime: true,
      RestrictSUIDSGID: true,
      LockPersonality: true,
      NoNewPrivileges: true,
      SystemCallArchitectures: 'native',
      SystemCallFilter: ['@system-service'],
      SystemCallErrorNumber: 'EPERM',
      RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK'],
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      LimitCORE: 0,
    });
    // impossible with V8's JIT: must not be set
    expect(c['MemoryDenyWriteExecute']).toBeUndefined();
  });
});

// The nix-darwin module: flake.nix's darwinModules.default and the NixOS
// module evaluated with a stand-in of nixpkgs' lib (nothing of nixpkgs or
// nix-darwin is needed), and nix/agent-darwin.nix rendered on its own.
describe('flake.nix darwinModules.default', () => {
  const STUB = `
    stubLib = {
      mkOption = o: o; mkEnableOption = d: { description = d; };
      mkIf = c: v: if c then v else { };
      optionalAttrs = c: a: if c then a else { };
      optional = c: x: if c then [ x ] else [ ];
      mapAttrs = f: set: builtins.mapAttrs f set;
      mapAttrs' = f: set: builtins.listToAttrs (map (n: f n set.\${n}) (builtins.attrNames set));
      nameValuePair = name: value: { inherit name value; };
      attrValues = set: map (n: set.\${n}) (builtins.attrNames set);
      getExe = p: "/pkg/bin/nixfleet-agent";
      types = { package = "package"; str = "str"; path = "path"; float = "float"; ints.positive = "positive"; nullOr = t: "nullOr"; listOf = t: "listOf"; };
    };
    pkgs = {
      formats.json = _: { type = "json"; generate = name: _: "/nix/store/00000000000000000000000000000000-\${name}"; };
      stdenv.hostPlatform.system = "aarch64-darwin"; systemd = "systemd"; util-linux = "util-linux";
    };
    outputs = (import ./flake.nix).outputs { self = outputs; nixpkgs = { lib = stubLib; }; };
    d = import ./nix/agent-defaults.nix;
    eval = cfg: m: m { config = { services.nixfleet-agent = cfg; networking.hostName = "mac-01"; nix.package = "nix"; }; lib = stubLib; inherit pkgs; };`;

  interface Modules {
    readonly darwinOptions: string[];
    readonly nixosOptions: string[];
    readonly launchd: Record<string, unknown> & { ProgramArguments: string[]; EnvironmentVariables: Record<string, string> };
    readonly preActivation: string;
    readonly etc: string[];
    readonly execStart: string;
  }

  /** Both modules for `cfg` (over the defaults, enabled, with the required options). */
  function evalModules(overrides: string): Modules {
    const expr = `let ${STUB}
      cfg = d // { enable = true; package = "pkg"; controlPlaneUrl = "https://cp"; machineId = "mac-01"; tls = d.tls // { caCert = "/ca.pem"; }; trust = null; effectiveHealthChecks = { }; } // (${overrides});
      darwin = eval cfg outputs.darwinModules.default;
      nixos = eval cfg outputs.nixosModules.default;
    in {
      darwinOptions = builtins.attrNames darwin.options.services.nixfleet-agent;
      nixosOptions = builtins.attrNames nixos.options.services.nixfleet-agent;
      launchd = darwin.config.launchd.daemons.nixfleet-agent.serviceConfig;
      preActivation = darwin.config.system.activationScripts.preActivation.text;
      etc = builtins.attrNames darwin.config.environment.etc;
      execStart = nixos.config.systemd.services.nixfleet-agent.serviceConfig.ExecStart;
    }`;
    return JSON.parse(nix(['--eval', '--strict', '--json', '-E', expr])) as Modules;
  }

  function renderDaemon(cfg: string): Modules['launchd'] {
    return JSON.parse(nix(['--eval', '--strict', '--json', '-E', `(import ./nix/agent-darwin.nix { exe = "/pkg/bin/nixfleet-agent"; cfg = ${cfg} // { tags = [ ]; }; }).serviceConfig`])) as Modules['launchd'];
  }

  it('has the NixOS module’s options (less the systemd watchdog) from one source', () => {
    const m = evalModules('{ }');
    expect(m.darwinOptions).toEqual(m.nixosOptions.filter((o) => o !== 'watchdogSec'));
    expect(m.nixosOptions).toContain('watchdogSec');
    const text = fs.readFileSync(path.join(root, 'flake.nix'), 'utf8');
    expect(text.match(/agentOptions \{ inherit config lib pkgs; \}/g)).toHaveLength(2);
  });

  it('runs the agent as a launchd daemon kept alive, logging to files, with the NixOS unit’s command line', () => {
    const m = evalModules('{ tags = [ "mac" "eu" ]; effectiveHealthChecks = { systemd = [ { unit = "sshd.service"; } ]; }; }');
    expect(m.launchd).toMatchObject({
      Label: 'com.nixfleet.agent',
      RunAtLoad: true,
      KeepAlive: true,
      ThrottleInterval: 10,
      ExitTimeOut: 30,
      StandardOutPath: '/var/log/nixfleet-agent.log',
      StandardErrorPath: '/var/log/nixfleet-agent.log',
      WorkingDirectory: '/var/lib/nixfleet-agent',
      Umask: 0o77,
    });
    expect(m.launchd.EnvironmentVariables).toMatchObject({ NIXFLEET_TAGS: 'mac,eu', PATH: expect.stringMatching(/^\/nix\/var\/nix\/profiles\/default\/bin:\/run\/current-system\/sw\/bin:/) });
    // The health checks' store path is in the plist: a change reloads the daemon.
    expect(m.launchd.EnvironmentVariables['NIXFLEET_RESTART_TRIGGERS']).toBe('/nix/store/00000000000000000000000000000000-health-checks.json');
    expect(m.etc).toEqual(['nixfleet/agent/health-checks.json']);
    // As on NixOS (nix/agent-etc.nix): no probe declared, no file and nothing to trigger on.
    const bare = evalModules('{ }');
    expect(bare.etc).toEqual([]);
    expect(bare.launchd.EnvironmentVariables['NIXFLEET_RESTART_TRIGGERS']).toBeUndefined();
    expect(bare.launchd.EnvironmentVariables['NIXFLEET_TAGS']).toBeUndefined();
    const [exe, ...flags] = m.launchd.ProgramArguments;
    expect(exe).toBe('/pkg/bin/nixfleet-agent');
    // The same words as the NixOS unit's ExecStart (which quotes none of these).
    expect(m.launchd.ProgramArguments.join(' ')).toBe(m.execStart);
    expect(parseInvocation(flags, '0')).toMatchObject({ kind: 'run', options: { controlPlaneUrl: 'https://cp', machineId: 'mac-01', caCert: '/ca.pem', stateDir: '/var/lib/nixfleet-agent' } });
  });

  it('creates the state and certificate directories (0700) and the activate log before launchd starts the agent', () => {
    const m = evalModules('{ }');
    expect(m.preActivation.split('\n')).toEqual([
      'mkdir -p /var/lib/nixfleet-agent && chmod 0700 /var/lib/nixfleet-agent',
      'mkdir -p /var/lib/nixfleet && chmod 0700 /var/lib/nixfleet',
      'touch /var/log/nixfleet-activate.log && chmod 0600 /var/log/nixfleet-activate.log',
    ]);
  });

  it('renders ProgramArguments the CLI accepts, with every option set and with the optional ones unset', () => {
    const full = renderDaemon(FULL);
    expect(full.ProgramArguments[0]).toBe('/pkg/bin/nixfleet-agent');
    expect(parseInvocation(full.ProgramArguments.slice(1), '0')).toEqual(parseInvocation(renderFlags(FULL), '0'));
    expect(full.ProgramArguments.slice(1)).toEqual(renderFlags(FULL));
    const minimal = renderDaemon(MINIMAL);
    expect(minimal.ProgramArguments).not.toContain('--client-cert');
    expect(parseInvocation(minimal.ProgramArguments.slice(1), '0')).toMatchObject({ kind: 'run', options: { machineId: 'db-02', manifestFreshnessWindowSecs: 60 } });
    // No shell in between: a path with a space is one argument, unquoted.
    const spaced = renderDaemon(FULL.replace('"/run/secrets/bootstrap-token"', `"/run/keys/it's here"`));
    expect(spaced.ProgramArguments).toContain(`/run/keys/it's here`);
  });
});

{
  description = "nixfleet-agent: NixOS and nix-darwin fleet host agent (TypeScript), wire-compatible with the nixfleet control plane";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      defaults = import ./nix/agent-defaults.nix;

      # The options of both modules, one source. Their names are upstream's
      # (services.nixfleet-agent.*), so a fleet switches agents by changing
      # `package`, on NixOS and nix-darwin hosts alike.
      agentOptions = { config, lib, pkgs }:
        let
          inherit (lib) mkEnableOption mkOption types;
          json = pkgs.formats.json { };
        in
        {
          enable = mkEnableOption "the nixfleet host agent";
          package = mkOption {
            type = types.package;
            default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
            description = "The agent package.";
          };
          controlPlaneUrl = mkOption { type = types.str; description = "Base URL of the control plane."; };
          machineId = mkOption { type = types.str; default = config.networking.hostName; description = "This host's identity (the CN of its certificate)."; };
          trust = mkOption {
            type = types.nullOr json.type;
            default = null;
            description = "Trust roots, rendered to /etc/nixfleet/agent/trust.json when set.";
          };
          trustFile = mkOption { type = types.path; default = defaults.trustFile; description = "Trust roots (trust.json)."; };
          manifestFreshnessWindowSecs = mkOption { type = types.ints.positive; default = defaults.manifestFreshnessWindowSecs; description = "Maximum age of signed artifacts."; };
          tls = {
            # Required, no default: without it the agent would have to trust every public root CA.
            caCert = mkOption { type = types.path; description = "CA that signs the control plane's certificate (required: the agent trusts it alone, never the public roots)."; };
            clientCert = mkOption { type = types.nullOr types.path; default = defaults.tls.clientCert; description = "mTLS client certificate (written by enrollment)."; };
            clientKey = mkOption { type = types.nullOr types.path; default = defaults.tls.clientKey; description = "mTLS client key: the SSH host key."; };
          };
          bootstrapTokenFile = mkOption { type = types.nullOr types.path; default = defaults.bootstrapTokenFile; description = "One-shot enrollment token."; };
          stateDir = mkOption { type = types.path; default = defaults.stateDir; description = "State directory."; };
          sshHostKeyFile = mkOption { type = types.path; default = defaults.sshHostKeyFile; description = "SSH host key that signs renewal CSRs."; };
          renewalThresholdFraction = mkOption { type = types.nullOr types.float; default = defaults.renewalThresholdFraction; description = "Renew the certificate below this remaining fraction of validity (0 < f < 1)."; };
          metricsListen = mkOption { type = types.nullOr types.str; default = defaults.metricsListen; example = "127.0.0.1:9101"; description = "Serve Prometheus metrics on this loopback address (ours)."; };
          tags = mkOption { type = types.listOf types.str; default = defaults.tags; description = "Host tags (exported as NIXFLEET_TAGS, as upstream)."; };
          effectiveHealthChecks = mkOption {
            type = json.type;
            default = { };
            description = "Probe declarations, rendered to /etc/nixfleet/agent/health-checks.json (not written when empty: no probes, no topology declared, as upstream).";
          };
        };

      # What both modules put in /etc (nix/agent-etc.nix decides which files),
      # and what restarts the agent when it changes.
      agentEtc = { cfg, lib, pkgs }:
        let
          json = pkgs.formats.json { };
          rendered = lib.mapAttrs (name: value: json.generate name value) (import ./nix/agent-etc.nix cfg);
        in
        {
          files = lib.mapAttrs' (name: source: lib.nameValuePair "nixfleet/agent/${name}" { inherit source; }) rendered;
          restartTriggers = lib.attrValues rendered;
        };
    in
    {
      packages = forAll (pkgs: {
        # Built from package-lock.json with Nix's npm tooling; importNpmLock
        # needs no separate dependency hash. better-sqlite3 and unix-dgram are
        # native addons, built here with python3 and the C++ toolchain.
        default = pkgs.buildNpmPackage {
          pname = "nixfleet-agent";
          version = (builtins.fromJSON (builtins.readFile ./package.json)).version;
          src = ./.;
          nodejs = pkgs.nodejs_20;
          npmDeps = pkgs.importNpmLock { npmRoot = ./.; };
          npmConfigHook = pkgs.importNpmLock.npmConfigHook;
          nativeBuildInputs = [ pkgs.python3 ];
          npmBuildScript = "build";
          meta.mainProgram = "nixfleet-agent";
        };
      });

      nixosModules.default = { config, lib, pkgs, ... }:
        let
          cfg = config.services.nixfleet-agent;
          inherit (lib) mkIf mkOption types;
          etc = agentEtc { inherit cfg lib pkgs; };
          # Unit attributes, pure builtins: shared with the real-host test bed (spec/host).
          service = import ./nix/agent-service.nix { inherit cfg; exe = lib.getExe cfg.package; };
        in
        {
          options.services.nixfleet-agent = agentOptions { inherit config lib pkgs; } // {
            watchdogSec = mkOption { type = types.ints.positive; default = defaults.watchdogSec; description = "systemd watchdog; the agent pings at half of it (ours)."; };
          };

          config = mkIf cfg.enable {
            environment.etc = etc.files;

            systemd.services.nixfleet-agent = {
              inherit (service) description wantedBy after wants startLimitIntervalSec environment serviceConfig;
              # A change to what the agent reads at start restarts it.
              restartTriggers = etc.restartTriggers;
              path = [ config.nix.package pkgs.systemd pkgs.util-linux ];
            };
          };
        };

      # nix-darwin: the same options and command line, supervised by launchd
      # (nix/agent-darwin.nix); the agent picks its darwin activation backend
      # itself (docs/activation-and-probes.md).
      darwinModules.default = { config, lib, pkgs, ... }:
        let
          cfg = config.services.nixfleet-agent;
          etc = agentEtc { inherit cfg lib pkgs; };
          daemon = import ./nix/agent-darwin.nix { inherit cfg; exe = lib.getExe cfg.package; inherit (etc) restartTriggers; };
        in
        {
          options.services.nixfleet-agent = agentOptions { inherit config lib pkgs; };

          config = lib.mkIf cfg.enable {
            environment.etc = etc.files;
            system.activationScripts.preActivation.text = daemon.preActivation;
            launchd.daemons.nixfleet-agent.serviceConfig = daemon.serviceConfig;
          };
        };
    };
}

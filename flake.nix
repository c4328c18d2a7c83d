{
  description = "nixfleet-agent: NixOS fleet host agent (TypeScript), wire-compatible with the nixfleet control plane";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
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
          inherit (lib) mkEnableOption mkIf mkOption types;
          json = pkgs.formats.json { };
          # What the sandboxed unit may write: the state dir and the client
          # certificate's dir (enrollment and renewal replace the cert there).
          # Under /var/lib systemd creates them (StateDirectory=, 0700);
          # elsewhere they must exist ("-": a missing one stays read-only).
          certDir = if cfg.tls.clientCert == null then null else dirOf (toString cfg.tls.clientCert);
          writableDirs = lib.unique ([ (toString cfg.stateDir) ] ++ lib.optional (certDir != null) certDir);
          underVarLib = lib.hasPrefix "/var/lib/";
        in
        {
          # Option names are upstream's (services.nixfleet-agent.*), so a
          # fleet switches agents by changing `package`.
          options.services.nixfleet-agent = {
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
            trustFile = mkOption { type = types.path; default = "/etc/nixfleet/agent/trust.json"; description = "Trust roots (trust.json)."; };
            manifestFreshnessWindowSecs = mkOption { type = types.ints.positive; default = 3600; description = "Maximum age of signed artifacts."; };
            tls = {
              # Required, no default: without it the agent would have to trust every public root CA.
              caCert = mkOption { type = types.path; description = "CA that signs the control plane's certificate (required: the agent trusts it alone, never the public roots)."; };
              clientCert = mkOption { type = types.nullOr types.path; default = "/var/lib/nixfleet/agent-cert.pem"; description = "mTLS client certificate (written by enrollment)."; };
              clientKey = mkOption { type = types.nullOr types.path; default = "/etc/ssh/ssh_host_ed25519_key"; description = "mTLS client key: the SSH host key."; };
            };
            bootstrapTokenFile = mkOption { type = types.nullOr types.path; default = null; description = "One-shot enrollment token."; };
            stateDir = mkOption { type = types.path; default = "/var/lib/nixfleet-agent"; description = "State directory."; };
            sshHostKeyFile = mkOption { type = types.path; default = "/etc/ssh/ssh_host_ed25519_key"; description = "SSH host key that signs renewal CSRs."; };
            renewalThresholdFraction = mkOption { type = types.nullOr types.float; default = null; description = "Renew the certificate below this remaining fraction of validity (0 < f < 1)."; };
            metricsListen = mkOption { type = types.nullOr types.str; default = null; example = "127.0.0.1:9101"; description = "Serve Prometheus metrics on this loopback address (ours)."; };
            tags = mkOption { type = types.listOf types.str; default = [ ]; description = "Host tags (exported as NIXFLEET_TAGS, as upstream)."; };
            effectiveHealthChecks = mkOption {
              type = json.type;
              default = { };
              description = "Probe declarations, rendered to /etc/nixfleet/agent/health-checks.json.";
            };
            watchdogSec = mkOption { type = types.ints.positive; default = 60; description = "systemd watchdog; the agent pings at half of it (ours)."; };
          };

          config = mkIf cfg.enable {
            environment.etc."nixfleet/agent/health-checks.json".source = json.generate "health-checks.json" cfg.effectiveHealthChecks;
            environment.etc."nixfleet/agent/trust.json" = mkIf (cfg.trust != null) { source = json.generate "trust.json" cfg.trust; };

            systemd.services.nixfleet-agent = {
              description = "nixfleet host agent";
              wantedBy = [ "multi-user.target" ];
              after = [ "network-online.target" ];
              wants = [ "network-online.target" ];
              # A change to what the agent reads at start restarts it.
              restartTriggers = [
                config.environment.etc."nixfleet/agent/health-checks.json".source
              ] ++ lib.optional (cfg.trust != null) config.environment.etc."nixfleet/agent/trust.json".source;
              path = [ config.nix.package pkgs.systemd pkgs.util-linux ];
              environment = {
                NIXFLEET_TAGS = lib.concatStringsSep "," cfg.tags;
                # The store is read-only in here: nix-store and nix-env go through the daemon.
                NIX_REMOTE = "daemon";
              };
              serviceConfig = {
                Type = "notify";
                NotifyAccess = "main";
                WatchdogSec = cfg.watchdogSec;
                ExecStart = lib.escapeShellArgs ([ (lib.getExe cfg.package) ] ++ import ./nix/agent-flags.nix cfg);
                Restart = "always";
                RestartSec = 30;
                TimeoutStopSec = 30;
                # Hardening (README "Hardening"). Both switches run in transient
                # units started through systemd-run, outside this sandbox.
                StateDirectory = map (lib.removePrefix "/var/lib/") (lib.filter underVarLib writableDirs);
                StateDirectoryMode = "0700";
                UMask = "0077";
                ProtectSystem = "strict";
                ReadWritePaths = map (d: "-${d}") (lib.filter (d: !underVarLib d) writableDirs) ++ [ "/nix/var/nix/profiles" ];
                ProtectHome = "read-only";
                PrivateTmp = true;
                PrivateDevices = true;
                ProtectKernelTunables = true;
                ProtectKernelModules = true;
                ProtectKernelLogs = true;
                ProtectControlGroups = true;
                ProtectClock = true;
                ProtectHostname = true;
                RestrictNamespaces = true;
                RestrictRealtime = true;
                RestrictSUIDSGID = true;
                LockPersonality = true;
                NoNewPrivileges = true;
                SystemCallArchitectures = "native";
                SystemCallFilter = [ "@system-service" ];
                SystemCallErrorNumber = "EPERM";
                # AF_NETLINK: glibc's getaddrinfo (AI_ADDRCONFIG) asks the kernel which address families are configured.
                RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
                # uid 0 without capabilities: it owns everything it writes, and
                # systemd-run/systemctl reach PID 1 over its root-only socket.
                CapabilityBoundingSet = "";
                AmbientCapabilities = "";
                LimitCORE = 0;
              };
            };
          };
        };
    };
}

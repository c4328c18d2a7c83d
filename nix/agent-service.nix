# The agent's systemd service, rendered from the module's options with pure
# builtins: flake.nix's module uses it as `systemd.services.nixfleet-agent`,
# and the real-host test bed (spec/host) renders the same attributes into a
# unit file, so what the bed boots is what a NixOS host runs.
# `exe` is the agent's executable (lib.getExe cfg.package in the module).
{ cfg, exe }:
let
  # lib.escapeShellArg, in builtins: safe words stay bare, the rest is single-quoted.
  escapeShellArg = a:
    if builtins.match "[[:alnum:],._+:@%/-]+" a != null then a
    else "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] a + "'";
  hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  removePrefix = p: s: if hasPrefix p s then builtins.substring (builtins.stringLength p) (-1) s else s;
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
  dirOf' = p: builtins.dirOf (toString p);

  # What the sandboxed unit may write: the state dir and the client
  # certificate's dir (enrollment and renewal replace the cert there).
  # Under /var/lib systemd creates them (StateDirectory=, 0700), so the
  # defaults work on a fresh host; elsewhere they must exist ("-": a missing
  # one stays read-only and the agent names it before it spends the token).
  certDir = if cfg.tls.clientCert == null then null else dirOf' cfg.tls.clientCert;
  writableDirs = unique ([ (toString cfg.stateDir) ] ++ (if certDir != null then [ certDir ] else [ ]));
  underVarLib = hasPrefix "/var/lib/";
in
{
  description = "nixfleet host agent";
  wantedBy = [ "multi-user.target" ];
  # As upstream: after the nix-daemon (every nix-store and nix-env call goes
  # through it), and never given up on (Restart=always, no start limit).
  after = [ "network-online.target" "nix-daemon.service" ];
  wants = [ "network-online.target" ];
  startLimitIntervalSec = 0;
  environment = {
    # The store is read-only in here: nix-store and nix-env go through the daemon.
    NIX_REMOTE = "daemon";
    # Nix's client cache, somewhere writable under the sandbox (upstream: /var/lib/nixfleet/.cache).
    XDG_CACHE_HOME = "${toString cfg.stateDir}/.cache";
  } // (if cfg.tags == [ ] then { } else { NIXFLEET_TAGS = builtins.concatStringsSep "," cfg.tags; });
  serviceConfig = {
    Type = "notify";
    NotifyAccess = "main";
    WatchdogSec = cfg.watchdogSec;
    ExecStart = builtins.concatStringsSep " " (map escapeShellArg ([ exe ] ++ import ./agent-flags.nix cfg));
    Restart = "always";
    RestartSec = 30;
    TimeoutStopSec = 30;
    # Hardening (README "Hardening"). Both switches run in transient
    # units started through systemd-run, outside this sandbox.
    StateDirectory = map (removePrefix "/var/lib/") (builtins.filter underVarLib writableDirs);
    StateDirectoryMode = "0700";
    UMask = "0077";
    ProtectSystem = "strict";
    ReadWritePaths = map (d: "-${d}") (builtins.filter (d: !underVarLib d) writableDirs) ++ [ "/nix/var/nix/profiles" ];
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
}

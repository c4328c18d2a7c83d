# The agent's launchd daemon on nix-darwin, rendered from the module's
# options with pure builtins (as nix/agent-service.nix renders the NixOS
# unit): flake.nix's darwin module uses it as `launchd.daemons.nixfleet-agent`,
# and spec/nix/flake.spec.ts parses its ProgramArguments with the real CLI.
# The command line is the NixOS unit's (nix/agent-flags.nix); upstream's
# darwin module (`_agent-darwin.nix`) set the label, logs and PATH.
# `exe` is the agent's executable; `restartTriggers` are store paths whose
# change must restart the agent (nix-darwin reloads a daemon whose plist changed).
{ cfg, exe, restartTriggers ? [ ] }:
let
  # lib.escapeShellArg, in builtins (as nix/agent-service.nix).
  escapeShellArg = a:
    if builtins.match "[[:alnum:],._+:@%/-]+" a != null then a
    else "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] a + "'";
  certDir = if cfg.tls.clientCert == null then null else builtins.dirOf (toString cfg.tls.clientCert);
  # launchd creates no directories: the state dir and the certificate's dir
  # exist (0700) before the daemon starts, as StateDirectory= makes them on NixOS.
  dirs = [ (toString cfg.stateDir) ] ++ (if certDir != null && certDir != toString cfg.stateDir then [ certDir ] else [ ]);
in
{
  label = "com.nixfleet.agent";
  activateLog = "/var/log/nixfleet-activate.log";
  # For system.activationScripts.preActivation: runs before launchd (re)loads the daemon.
  preActivation = builtins.concatStringsSep "\n" (
    map (d: "mkdir -p ${escapeShellArg d} && chmod 0700 ${escapeShellArg d}") dirs
    # The agent appends the activation scripts' output here (0600: they may print secrets' paths).
    ++ [ "touch /var/log/nixfleet-activate.log && chmod 0600 /var/log/nixfleet-activate.log" ]
  );
  serviceConfig = {
    Label = "com.nixfleet.agent";
    # No shell, no start-up sleep: launchd tracks the agent's own pid, and an
    # agent that cannot start yet (clock, certificate) exits and is started again.
    ProgramArguments = [ exe ] ++ import ./agent-flags.nix cfg;
    RunAtLoad = true;
    # Restart=always; ThrottleInterval is launchd's RestartSec (upstream: 10 s).
    KeepAlive = true;
    ThrottleInterval = 10;
    # The agent drains within 25 s of SIGTERM (the NixOS unit's TimeoutStopSec is 30).
    ExitTimeOut = 30;
    StandardOutPath = "/var/log/nixfleet-agent.log";
    StandardErrorPath = "/var/log/nixfleet-agent.log";
    WorkingDirectory = toString cfg.stateDir;
    # UMask=0077 of the NixOS unit (launchd takes the number: 0o77 = 63).
    Umask = 63;
    EnvironmentVariables = {
      # launchd's PATH lacks Nix: nix-store and nix-env come from the default
      # profile (Determinate/multi-user installs) or the system's sw/bin.
      PATH = "/nix/var/nix/profiles/default/bin:/run/current-system/sw/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    } // (if cfg.tags == [ ] then { } else { NIXFLEET_TAGS = builtins.concatStringsSep "," cfg.tags; })
    // (if restartTriggers == [ ] then { } else { NIXFLEET_RESTART_TRIGGERS = builtins.concatStringsSep ":" (map toString restartTriggers); });
  };
}

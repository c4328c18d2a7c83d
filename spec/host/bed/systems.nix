# The test bed's "system closures": plain derivations (builder /bin/sh, no
# nixpkgs) shaped like a NixOS system where the agent looks: the agent's unit
# rendered by nix/agent-service.nix from the module's defaults, a web service
# the health probe checks, and a miniature bin/switch-to-configuration.
# `cfg` is the module configuration (nix/agent-defaults.nix plus what an
# operator fills in); `checkout` is where the repository is mounted in the bed.
{ cfg, checkout ? "/opt/nixfleet-agent" }:
let
  system = builtins.currentSystem;
  PATH = "/bin:/usr/bin";

  # The agent "package": what buildNpmPackage's wrapper does, pointing at the
  # mounted checkout's dist/. One store path shared by every generation, so a
  # switch restarts the agent only when its unit changes, as on NixOS.
  agent = derivation {
    name = "nixfleet-agent-bed";
    inherit system PATH;
    builder = "/bin/sh";
    wrapper = "#!/bin/sh\nexec /usr/bin/node ${checkout}/dist/bin/nixfleet-agent.js \"$@\"\n";
    args = [ "-c" "mkdir -p $out/bin && printf '%s' \"$wrapper\" > $out/bin/nixfleet-agent && chmod 555 $out/bin/nixfleet-agent" ];
  };

  value = v: if builtins.isBool v then (if v then "true" else "false") else toString v;
  lines = key: v: if builtins.isList v then map (x: "${key}=${value x}") v else [ "${key}=${value v}" ];
  section = name: attrs: builtins.concatStringsSep "\n"
    ([ "[${name}]" ] ++ builtins.concatLists (map (k: lines k attrs.${k}) (builtins.attrNames attrs))) + "\n";

  # How NixOS renders systemd.services.<name> into a unit file (reduced to what the service uses).
  unitOf = s:
    section "Unit" { Description = s.description; After = builtins.concatStringsSep " " s.after; Wants = builtins.concatStringsSep " " s.wants; StartLimitIntervalSec = s.startLimitIntervalSec; }
    + section "Service" ({ Environment = map (k: "\"${k}=${s.environment.${k}}\"") (builtins.attrNames s.environment); } // s.serviceConfig)
    + section "Install" { WantedBy = s.wantedBy; };

  webUnit = out: ''
    [Unit]
    Description=bed web service (the health probe's target)
    [Service]
    ExecStart=/usr/bin/node ${out}/libexec/web.js
    Restart=always
    RestartSec=1
    [Install]
    WantedBy=multi-user.target
  '';

  # One generation. `status` is what its web service answers (a 500 makes
  # the probe fail); `tags` end up in the agent's unit (a change restarts the
  # agent); `preSwitchDelay` and `postRestartDelay` keep the switch running
  # (its lock held) before it stops units and after it restarted them, as a
  # slow activation would.
  systemOf = { label, status ? 200, tags ? cfg.tags, preSwitchDelay ? 0, postRestartDelay ? 0 }:
    let
      out = builtins.placeholder "out";
      service = import ../../../nix/agent-service.nix { cfg = cfg // { inherit tags; }; exe = "${agent}/bin/nixfleet-agent"; };
    in
    derivation {
      name = "nixos-system-bed-${label}";
      inherit system PATH;
      builder = "/bin/sh";
      agentUnit = unitOf service;
      web = webUnit out;
      webJs = "require('http').createServer((q, s) => { s.statusCode = ${toString status}; s.end('${label}\\n'); }).listen(8080, '127.0.0.1');\n";
      switch = builtins.readFile ./switch-to-configuration.sh;
      inherit label;
      delay = toString postRestartDelay;
      preDelay = toString preSwitchDelay;
      args = [ "-c" ''
        set -e
        mkdir -p $out/bin $out/libexec $out/etc/systemd/system
        printf '%s' "$switch" > $out/bin/switch-to-configuration
        chmod 555 $out/bin/switch-to-configuration
        printf '%s' "$agentUnit" > $out/etc/systemd/system/nixfleet-agent.service
        printf '%s' "$web" > $out/etc/systemd/system/bed-web.service
        printf '%s' "$webJs" > $out/libexec/web.js
        printf 'nixfleet-agent.service\nbed-web.service\n' > $out/wanted-by-multi-user
        printf '%s\n' "$delay" > $out/post-restart-delay
        printf '%s\n' "$preDelay" > $out/pre-switch-delay
        printf '%s\n' "$label" > $out/label
      '' ];
    };
in
{
  inherit agent;
  gen1 = systemOf { label = "gen1"; };
  gen2 = systemOf { label = "gen2"; };
  # The operator changed the agent's own unit: the switch restarts the agent mid-activation.
  gen2-agent = systemOf { label = "gen2-agent"; tags = cfg.tags ++ [ "gen2" ]; preSwitchDelay = 4; postRestartDelay = 5; };
  gen2-broken = systemOf { label = "gen2-broken"; status = 500; };
  # Pushed to the cache signed by a key the host does not trust.
  untrusted = systemOf { label = "untrusted"; };
}

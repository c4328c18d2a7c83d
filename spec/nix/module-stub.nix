# Evaluates flake.nix's NixOS module without nixpkgs (spec/nix/flake.spec.ts):
# a stub `lib` with just the functions the module calls, `pkgs.formats.json`
# rendering a value as a fake store path that carries its JSON, and the
# module's own config fed back as `config` (a fixed point, as the module
# system's). `overrides` is laid over the module's defaults.
overrides:
let
  flake = import ../../flake.nix;
  lib = {
    mkEnableOption = _: { };
    mkOption = o: o;
    mkIf = cond: content: { _type = "if"; inherit cond content; };
    types = let t = { }; in { path = t; str = t; float = t; package = t; nullOr = _: t; listOf = _: t; ints.positive = t; };
    getExe = _: "/pkg/bin/nixfleet-agent";
    mapAttrs' = f: set: builtins.listToAttrs (map (n: f n set.${n}) (builtins.attrNames set));
    nameValuePair = name: value: { inherit name value; };
    mapAttrs = f: set: builtins.mapAttrs f set;
    attrValues = set: map (n: set.${n}) (builtins.attrNames set);
  };
  pkgs = {
    formats.json = _: { type = { }; generate = name: value: "/nix/store/fake-${name}:${builtins.toJSON value}"; };
    stdenv.hostPlatform.system = "x86_64-linux";
    systemd = "systemd";
    util-linux = "util-linux";
  };
  outputs = flake.outputs { self = { }; nixpkgs = { inherit lib; legacyPackages = { }; }; };
  defaults = import ../../nix/agent-defaults.nix;
  cfg = defaults // {
    enable = true;
    package = "pkg";
    controlPlaneUrl = "https://cp";
    machineId = "web-01";
    trust = null;
    effectiveHealthChecks = { };
    tls = defaults.tls // { caCert = "/ca.pem"; };
  } // overrides;
  module = outputs.nixosModules.default { inherit lib pkgs config; };
  config = {
    services.nixfleet-agent = cfg;
    networking.hostName = "web-01";
    nix.package = "nix";
    inherit (module.config.content) environment;
  };
  c = module.config.content;
  unit = c.systemd.services.nixfleet-agent;
in
{
  enabled = module.config.cond;
  etc = builtins.mapAttrs (_: v: v.source) c.environment.etc;
  inherit (unit) restartTriggers after startLimitIntervalSec environment;
}

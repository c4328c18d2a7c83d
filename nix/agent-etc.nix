# The files the module writes under /etc/nixfleet/agent, as values to render
# as JSON, in pure builtins (spec/nix/flake.spec.ts evaluates it). As
# upstream, health-checks.json only when some probe is declared: without the
# file the agent declares no probe topology and runs no probes, where `{}`
# would declare an empty one. trust.json only when the trust roots are given
# here (otherwise `trustFile` points at a file managed elsewhere).
cfg:
(if cfg.effectiveHealthChecks == { } then { } else { "health-checks.json" = cfg.effectiveHealthChecks; })
// (if cfg.trust == null then { } else { "trust.json" = cfg.trust; })

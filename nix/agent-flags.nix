# The daemon's command line, rendered from the module's options. Pure
# builtins only, so that a spec can evaluate it with `nix-instantiate --eval`
# (no nixpkgs needed) and check every flag against the real CLI parser.
cfg:
let
  opt = flag: value: if value == null then [ ] else [ flag (toString value) ];
in
[
  "--control-plane-url" cfg.controlPlaneUrl
  "--machine-id" cfg.machineId
  "--trust-file" (toString cfg.trustFile)
  "--manifest-freshness-window-secs" (toString cfg.manifestFreshnessWindowSecs)
  "--state-dir" (toString cfg.stateDir)
  "--ssh-host-key-file" (toString cfg.sshHostKeyFile)
]
++ opt "--renewal-threshold-fraction" cfg.renewalThresholdFraction
++ opt "--ca-cert" cfg.tls.caCert
++ opt "--client-cert" cfg.tls.clientCert
++ opt "--client-key" cfg.tls.clientKey
++ opt "--bootstrap-token-file" cfg.bootstrapTokenFile
++ opt "--metrics-listen" cfg.metricsListen

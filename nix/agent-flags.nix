# The daemon's command line, rendered from the module's options. Pure
# builtins only, so that a spec can evaluate it with `nix-instantiate --eval`
# (no nixpkgs needed) and check every flag against the real CLI parser.
cfg:
let
  opt = flag: value: if value == null then [ ] else [ flag (toString value) ];
  # Required: without a CA the agent would have to trust the public roots,
  # and it refuses to start. Interpolation copies a path literal
  # (`./fleet-ca.pem`) into the store, where the host can read it.
  caCert =
    if cfg.tls.caCert == null
    then throw "services.nixfleet-agent.tls.caCert is required: the CA that signs the control plane's certificate (the agent never trusts the public roots)"
    else "${cfg.tls.caCert}";
  # The module never renders the CLI's plain-http development flag: refuse here, at build time.
  controlPlaneUrl =
    if builtins.match "[Hh][Tt][Tt][Pp][Ss]://.+" cfg.controlPlaneUrl == null
    then throw "services.nixfleet-agent.controlPlaneUrl must be an https:// URL, got \"${cfg.controlPlaneUrl}\""
    else cfg.controlPlaneUrl;
in
[
  "--control-plane-url" controlPlaneUrl
  "--machine-id" cfg.machineId
  "--trust-file" (toString cfg.trustFile)
  "--ca-cert" caCert
  "--manifest-freshness-window-secs" (toString cfg.manifestFreshnessWindowSecs)
  "--state-dir" (toString cfg.stateDir)
  "--ssh-host-key-file" (toString cfg.sshHostKeyFile)
]
++ opt "--renewal-threshold-fraction" cfg.renewalThresholdFraction
++ opt "--client-cert" cfg.tls.clientCert
++ opt "--client-key" cfg.tls.clientKey
++ opt "--bootstrap-token-file" cfg.bootstrapTokenFile
++ opt "--metrics-listen" cfg.metricsListen

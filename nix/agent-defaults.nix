# The module's option defaults, in one place: flake.nix's options and the
# real-host test bed (spec/host) both read them, so the bed's first boot runs
# exactly what a host gets when the operator fills in only the required options.
{
  trustFile = "/etc/nixfleet/agent/trust.json";
  manifestFreshnessWindowSecs = 3600;
  tls = {
    caCert = null;
    # Under /var/lib, so StateDirectory= creates its directory on first boot.
    clientCert = "/var/lib/nixfleet/agent-cert.pem";
    clientKey = "/etc/ssh/ssh_host_ed25519_key";
  };
  bootstrapTokenFile = null;
  stateDir = "/var/lib/nixfleet-agent";
  sshHostKeyFile = "/etc/ssh/ssh_host_ed25519_key";
  renewalThresholdFraction = null;
  metricsListen = null;
  tags = [ ];
  watchdogSec = 60;
}

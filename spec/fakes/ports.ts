// Moved to src/testing (the package's `nixfleet-agent/testing` entry); kept
// here so specs keep their short import.
export * from '../../src/testing/fakes';

/** `npm run test:host`: the real-host suite (spec/host) — root, systemd 252 in a container, real Nix. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec/host'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // A scenario boots a host, enrolls, and waits through real soaks and restarts.
  testTimeout: 600000,
};

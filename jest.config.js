/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // The real-host suite (root, systemd, real Nix) is `npm run test:host`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/spec/host/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60000,
};

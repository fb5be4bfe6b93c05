/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  // A temporary XDG_STATE_HOME for the run and each file: no test writes to the real home.
  globalSetup: '<rootDir>/test/support/state-home/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/state-home/global-teardown.mjs',
  setupFiles: ['<rootDir>/test/support/state-home/per-file.mjs'],
  testTimeout: 60000,
  maxWorkers: 2
};

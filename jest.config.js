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
  maxWorkers: 2,
  // A worker told to end has no handle left (only its stdio pipes) and fires 'exit' at once, but
  // on this VM a process of ~200 MiB takes 0.3-0.8 s more to be torn down; jest's default 500 ms
  // then killed it and printed "A worker process has failed to exit gracefully". A real leak (a
  // handle left open) keeps a worker alive indefinitely, and still gets that warning after 5 s.
  workerGracefulExitTimeout: 5000
};

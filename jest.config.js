/** @type {import('jest').Config} */
const ts = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  // With --randomize, the test files run in an order drawn from the seed as well (test/sequencer.cjs).
  testSequencer: '<rootDir>/test/sequencer.cjs',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: ts,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      // Needs a real redis-server: test/global-setup.ts finds or starts one.
      displayName: 'integration',
      testEnvironment: 'node',
      transform: ts,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts'],
    },
    {
      // Needs Docker and the compose stack: started and torn down by the suite itself.
      displayName: 'cluster',
      testEnvironment: 'node',
      transform: ts,
      testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/cluster/setup.ts'],
    },
    {
      // Faults against the real compose stack (Redis variant), one scenario per file, each restoring the
      // stack after itself: started and torn down by the suite itself (project scfaults; needs Docker).
      displayName: 'faults',
      testEnvironment: 'node',
      transform: ts,
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globalSetup: '<rootDir>/test/faults/global-setup.ts',
      globalTeardown: '<rootDir>/test/faults/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/faults/setup.ts'],
    },
    {
      // Real headless Chromium (/usr/bin/chromium) driving the dashboard: against in-process instances on
      // the integration suite's Redis, and against a compose stack of its own (needs Docker).
      displayName: 'browser',
      testEnvironment: 'node',
      transform: ts,
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      globalSetup: '<rootDir>/test/browser/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/browser/setup.ts'],
    },
  ],
};

// Two projects: `unit` (pure core and local servers, fast) and `integration`
// (real git, dockerd, buildx and registry from scripts/stack.sh; serial, long timeouts).
const common = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] }
}
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.itg\\.test\\.ts$']
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/**/*.itg.test.ts']
    }
  ],
  // A project-level testTimeout is ignored by jest; real builds on a shared 2-core machine need minutes.
  testTimeout: 600000,
  // One test file at a time: the integration tests share one Docker engine, and the cross-job tests
  // empty its build cache as a fresh runner has it (buildx prune), which pulls records from under a
  // build that another file runs at the same moment ("failed to solve: not found").
  maxWorkers: 1
}

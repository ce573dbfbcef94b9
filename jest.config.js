/**
 * Jest runs the TypeScript sources as native ES modules (the project is `"type": "module"`,
 * and @kubernetes/client-node ships ESM only). ts-jest only transpiles; `npm run typecheck`
 * does the type checking once for the whole project.
 */
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  clearMocks: true,
  restoreMocks: true,
};

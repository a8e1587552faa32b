// Test tiers (docs/design.md section 10), each a Jest project with a fixed home:
//   unit         *.spec.ts beside the code, no I/O
//   integration  test/integration, real PostgreSQL and Redis
//   e2e          test/e2e, supertest against the booted apps
//   chart        test/chart, real Helm binaries and Kubernetes schemas
//   slo          test/slo, promtool and a real Prometheus
//   engines      test/engines, slow-HTTP and connection-flood attacks on the compiled API, and fault drills
//                on the compiled apps with a PostgreSQL and Redis of their own (loopback only)
//   image        test/image, and test/e2e/image-runtime.e2e.ts: the image's runtime contract (the production
//                tree under bubblewrap; a cold run installs the production dependencies first)
// scripts/test.mjs runs them in stages (scripts/test-stages.mjs): fast = unit, integration, e2e, chart, slo;
// engines (--runInBand); image.
const { swcOptions } = require('./scripts/swc-options.cjs');

// swc rewrites the path aliases itself, so the global setup (which Jest
// loads without its module mapper) resolves them too.
const transform = { '^.+\\.ts$': ['@swc/jest', { ...swcOptions({ withPaths: true }), swcrc: false }] };
// ESM-only dependencies that Jest's CommonJS runtime must have transformed (Node itself loads them natively).
const ESM_ONLY = ['content-disposition'];
const base = {
  transform: { ...transform, '^.+\\.m?js$': ['@swc/jest', { ...swcOptions({ withPaths: false }), swcrc: false }] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};
/** Tests that run the container image (its runtime contract); their own project, the `image` stage. */
const IMAGE_TESTS = ['<rootDir>/test/image/**/*.test.ts', '<rootDir>/test/e2e/image-runtime.e2e.ts'];
const withServices = { globalSetup: '<rootDir>/test/support/global-setup.ts', globalTeardown: '<rootDir>/test/support/global-teardown.ts' };

module.exports = {
  // Suites with real services boot apps and child processes; 2 loaded cores need headroom.
  testTimeout: 60_000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts,deploy}/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'] },
    { ...base, ...withServices, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    {
      ...base,
      ...withServices,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/test/e2e/image-runtime\\.e2e\\.ts$'],
    },
    { ...base, displayName: 'chart', testMatch: ['<rootDir>/test/chart/**/*.test.ts'] },
    { ...base, ...withServices, displayName: 'slo', testMatch: ['<rootDir>/test/slo/**/*.test.ts'] },
    { ...base, ...withServices, displayName: 'engines', testMatch: ['<rootDir>/test/engines/**/*.test.ts'] },
    { ...base, ...withServices, displayName: 'image', testMatch: IMAGE_TESTS },
  ],
};

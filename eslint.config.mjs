// ESLint flat config (`npm run lint`, with --max-warnings 0). TypeScript gets typescript-eslint's
// strictTypeChecked and stylisticTypeChecked, type information from the project service
// (tsconfig.json); the rule settings below say why each differs from the preset.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** `any` and the unsafe-any family off: for code that reads untyped rows and JSON (pg results, Redis payloads, test bodies). */
const UNTYPED_ROWS = {
  '@typescript-eslint/no-explicit-any': 'off',
  '@typescript-eslint/no-unsafe-assignment': 'off',
  '@typescript-eslint/no-unsafe-member-access': 'off',
  '@typescript-eslint/no-unsafe-argument': 'off',
  '@typescript-eslint/no-unsafe-call': 'off',
  '@typescript-eslint/no-unsafe-return': 'off',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'node_modules/**',
      'charts/**',
      // Code that is wrong on purpose: test/unit/eslint.spec.ts lints it and expects the error.
      'test/fixtures/eslint/**',
      // Known-bad imports for the dependency-cruiser rules (@ts-nocheck, not part of the program).
      'test/fixtures/depcruise/**',
    ],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.{ts,mts,cts}'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked, ...tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The two this configuration exists for: a promise is awaited, returned, handled, or
      // explicitly let go with `void`; a promise is never passed where a void callback is expected.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Numbers and booleans in messages, metric labels and SQL are deliberate and read fine.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      // Spreading a string into code points is what the code wants (code and alias alphabets, fuzz
      // mutations, length limits counted in code points); the rule's concern is grapheme clusters.
      '@typescript-eslint/no-misused-spread': 'off',
      // `||` on strings is deliberate: an empty message, service name or host falls back like a missing one.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // Number()/String() at the driver and header boundaries (pg rows, Redis replies, response headers)
      // guard values whose declared type the driver does not promise; the rule trusts the declaration.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Nest declares its factory options as classes (NestApplicationContextOptions) and documents
      // passing object literals for them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // `async` without `await` is kept where a function fulfils a Promise-returning contract (Nest
      // lifecycle hooks, health indicators, TypeORM's QueryRunner): a throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // `!` states an invariant the checker cannot follow (a key set a line above, an index inside its
      // bounds, a regexp group that matched); the alternative is a throw that cannot happen.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tsc reports unused names (noUnusedLocals, noUnusedParameters); one report is enough.
      '@typescript-eslint/no-unused-vars': 'off',
      // NestJS modules are empty classes that exist for their decorator (@Module).
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
    },
  },
  {
    // Row mappers over `DataSource.query()` / pg results and Redis commands registered with defineCommand:
    // their typings return `any` and every column read would need a cast; the functions return typed values.
    files: [
      'libs/links/src/application/link.repository.ts',
      'libs/links/src/audit/link-audit.service.ts',
      'libs/links/src/redirect/link-cache.service.ts',
      'libs/links/src/redirect/redirect-snapshot.ts',
      'libs/links/src/application/idempotency.service.ts',
      'libs/clicks/src/visitors/visitor-hll.store.ts',
      'libs/database/src/migration/migration-runner.ts',
      'libs/database/src/migration/schema-compatibility.ts',
    ],
    rules: {
      ...UNTYPED_ROWS,
    },
  },
  {
    // Patterns that match control characters exist to refuse or strip them (target URLs, log lines,
    // terminal escapes); the rule cannot tell that from an accident.
    rules: { 'no-control-regex': 'off' },
  },
  {
    // The dashboards are Grafana's v1 JSON model (what the chart's ConfigMaps and Grafana 10/11 load);
    // the SDK marks its v1 builders deprecated in favour of dashboardv2, a migration of its own.
    files: ['deploy/grafana/**/*.ts'],
    rules: { '@typescript-eslint/no-deprecated': 'off' },
  },
  {
    // Tests read untyped JSON bodies (supertest's `body: any`), poke at private state, build partial mocks
    // and assert after `expect(x).toBeDefined()`: the unsafe-any family, `any`, non-null assertions,
    // defensive conditions and unbound `expect(obj.method)` are the test idiom, not defects. The promise
    // rules stay on: an un-awaited `expect(...).rejects` is a test that cannot fail.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      ...UNTYPED_ROWS,
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      // Tests annotate the rejection they provoke (`(e: Error) => e.message`); a wrong guess fails the test.
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
    },
  },
);

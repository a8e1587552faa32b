// Architecture boundaries, enforced by a tool rather than by review: apps
// only compose, logic lives in libs. Checked by
// `npm run lint:arch` and test/unit/architecture.spec.ts; the known-bad
// imports that prove each rule fires live in test/fixtures/depcruise/.
//
// Paths are relative to where depcruise runs (the repository root). npm
// packages are matched with `(^|/)node_modules/<name>` so the rules also hold when a
// fixture folder is cruised from inside the repository, and by bare name so an
// import of a package that is not installed still counts.

/** A `to.path` for npm packages, installed or not. */
const npm = (...names) => `(^|(^|/)node_modules/)(${names.join('|')})(/|$)`;

/** HTTP frameworks (Nest, Fastify) and storage drivers (TypeORM, pg, ioredis, BullMQ): what framework-free code never imports. */
const FRAMEWORKS = npm('@nestjs/[^/]+', 'fastify', '@fastify/[^/]+', 'typeorm', 'pg', 'pg-[^/]+', 'ioredis', 'bullmq');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'libs-not-to-apps',
      comment:
        'Apps compose modules from libs and libs never reach back into an app: a lib that needs ' +
        'something from an app makes the app a library in disguise and breaks the worker/API split.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-only-compose',
      comment:
        'An app composes the modules libs export and starts them: it reaches a lib only through its ' +
        'public index (@shortener/<lib>), never a file inside it, and never a storage driver (a query or a ' +
        'queue in an app is logic that belongs in a lib).',
      severity: 'error',
      from: { path: '^apps/' },
      to: {
        path: ['^libs/[^/]+/src/', npm('typeorm', '@nestjs/typeorm', 'pg', 'pg-[^/]+', 'ioredis', 'bullmq', '@nestjs/bullmq')],
        pathNot: '^libs/[^/]+/src/index\\.ts$',
      },
    },
    {
      name: 'domain-not-to-frameworks',
      comment:
        'Domain code (libs/*/src/domain) is pure: no HTTP framework (Nest, Fastify) and no storage ' +
        'driver (TypeORM, pg, ioredis, BullMQ), so its rules run and are tested without I/O and ' +
        'survive a change of transport or store. Adapters live in application/, http/, redirect/ ' +
        'and in @shortener/http.',
      severity: 'error',
      from: { path: '^libs/[^/]+/src/domain/' },
      // @shortener/http is the lib of the Nest and Fastify adapters: importing it imports them.
      to: { path: [FRAMEWORKS, '^libs/http/'] },
    },
    {
      name: 'common-not-to-frameworks',
      comment:
        '@shortener/common is the framework-free core (errors, clock, deadlines, batching) that domain code ' +
        'imports: no HTTP framework and no storage driver, or every domain would load them at runtime. ' +
        'The Nest and Fastify parts live in @shortener/http.',
      severity: 'error',
      from: { path: '^libs/common/' },
      to: { path: FRAMEWORKS },
    },
    {
      name: 'common-not-to-other-libs',
      comment:
        '@shortener/common is the bottom layer: it imports no other lib, since each of them is (or may become) ' +
        'an adapter that loads a framework, and an import back would close a cycle.',
      severity: 'error',
      from: { path: '^libs/common/' },
      to: { path: '^libs/', pathNot: '^libs/common/' },
    },
    {
      name: 'domain-not-to-other-libs',
      comment:
        "Domain code depends on no other lib but @shortener/common (errors, clock): another lib's " +
        'domain would couple two bounded contexts, and every other lib is an adapter layer.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/src/domain/' },
      to: { path: '^libs/', pathNot: ['^libs/common/', '^libs/$1/'] },
    },
    {
      name: 'domain-not-to-outer-layers',
      comment:
        'Within its own lib the domain is the innermost layer: application services, HTTP and ' + 'redirect adapters depend on it, never the other way round.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/src/domain/' },
      to: { path: '^libs/$1/src/', pathNot: '^libs/$1/src/domain/' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle makes module load order matter (a class is undefined at decoration time) and is ' +
        'what forwardRef papers over: fix the cycle instead. Type-only imports count too: ' +
        'a type cycle is the same coupling, only not yet a runtime failure.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-not-to-test-code',
      comment:
        'Code that ships (apps, libs) never imports test support, fixtures or another spec: the ' +
        'image would carry test helpers, and a test seam would become a production path. Specs ' +
        'beside the code may use test support.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: '\\.spec\\.ts$' },
      to: { path: ['^test/', '\\.(spec|test|e2e)\\.ts$'] },
    },
    {
      name: 'no-database-mocks',
      comment:
        'Tests run on the real PostgreSQL and Redis: in-memory fakes pass where the real server fails (locks, SQL dialect, Lua, key ' +
        'expiry). Each Jest worker gets its own database and key prefix instead.',
      severity: 'error',
      from: {},
      to: { path: npm('pg-mem', 'pgmock', 'ioredis-mock', 'redis-mock') },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'Every import resolves to a file or an installed package. Also guards the path aliases: if ' +
        'the tsconfig `@shortener/*` mapping stopped resolving, every rule above would go blind.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Test fixtures hold deliberately bad imports; the architecture test cruises them on their own.
    exclude: { path: '^test/fixtures/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (a domain file importing a Nest type still couples to Nest).
    tsPreCompilationDeps: true,
    // Resolves the `@shortener/*` aliases (tsconfig.json paths) to libs/*/src.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

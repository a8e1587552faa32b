import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Architecture boundaries, enforced by a tool rather than by review, checked by
 * dependency-cruiser with the repository's `.dependency-cruiser.js`: the real
 * tree has no violation, and the fixture of known-bad imports
 * (test/fixtures/depcruise) trips every rule.
 */
const ROOT = path.resolve(__dirname, '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/depcruise');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
/** An installed HTTP framework or storage driver (the `FRAMEWORKS` of `.dependency-cruiser.js`). */
const FRAMEWORK = /(^|\/)node_modules\/(@nestjs\/|fastify\/|@fastify\/|typeorm\/|pg\/|pg-[^/]+\/|ioredis\/|bullmq\/)/;

interface CruiseViolation {
  type: string;
  from: string;
  to: string;
  unresolvedTo: string;
  rule: { name: string; severity: string };
}
interface CruiseResult {
  modules: { source: string; dependencies: { module: string; resolved: string }[] }[];
  summary: { violations: CruiseViolation[]; error: number; totalCruised: number };
}

/** Runs the depcruise CLI (as `npm run lint:arch` does) with JSON output from `cwd`. */
async function cruise(cwd: string, targets: string[]): Promise<CruiseResult> {
  const args = [DEPCRUISE, ...targets, '--config', CONFIG, '--output-type', 'json'];
  // depcruise exits with the number of errors; the JSON on stdout is the verdict either way.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 256 * 1024 * 1024 }, (error, out, err) => {
      if (out.trim().startsWith('{')) resolve(out);
      else reject(new Error(`depcruise failed (${error?.message ?? 'no output'}): ${err}`));
    });
  });
  return JSON.parse(stdout) as CruiseResult;
}

/** `rule: from -> to`, with npm targets by package name (their resolved file is an install detail). */
function describeViolation(v: CruiseViolation): string {
  const to = v.to.includes('node_modules/') ? v.unresolvedTo : v.to;
  return `${v.rule.name}: ${v.from} -> ${to}`;
}

describe('architecture boundaries (dependency-cruiser)', () => {
  // One cruise of the repository (several seconds) serves the first three tests.
  let repository: CruiseResult;
  beforeAll(async () => {
    repository = await cruise(ROOT, ['apps', 'libs', 'test']);
  }, 120_000);

  it('finds no violation in apps, libs and test', () => {
    const result = repository;
    expect(result.summary.violations.map(describeViolation)).toEqual([]);
    expect(result.summary.error).toBe(0);
    // The fixture of bad imports is excluded here; it is cruised on its own below.
    expect(result.modules.filter((m) => m.source.startsWith('test/fixtures/'))).toEqual([]);
  });

  it('resolves the @shortener/* path aliases through tsconfig.json', () => {
    const result = repository;
    const aliased = result.modules.flatMap((m) => m.dependencies).filter((d) => d.module.startsWith('@shortener/'));
    expect(aliased.length).toBeGreaterThan(0);
    const targets = new Set(aliased.map((d) => `${d.module} -> ${d.resolved}`));
    expect(targets.has('@shortener/common -> libs/common/src/index.ts')).toBe(true);
    expect(targets.has('@shortener/http -> libs/http/src/index.ts')).toBe(true);
    expect(aliased.filter((d) => !/^(libs\/[a-z-]+\/src|test\/support)\/index\.ts$/.test(d.resolved))).toEqual([]);
  });

  it('loads no framework from domain code, not even through the libs it imports', () => {
    const dependencies = new Map(repository.modules.map((m) => [m.source, m.dependencies.map((d) => d.resolved)]));
    const domain = [...dependencies.keys()].filter((source) => /^libs\/[^/]+\/src\/domain\//.test(source) && !source.endsWith('.spec.ts'));
    expect(domain.length).toBeGreaterThan(0);
    // Every file the domain reaches, import by import (type-only imports too, as the rules count them).
    const reached = new Set<string>(domain);
    const pending = [...domain];
    for (let source = pending.pop(); source !== undefined; source = pending.pop()) {
      for (const target of dependencies.get(source) ?? []) {
        if (!reached.has(target)) {
          reached.add(target);
          pending.push(target);
        }
      }
    }
    expect([...reached].filter((file) => FRAMEWORK.test(file) || file.startsWith('libs/http/'))).toEqual([]);
    expect(reached.has('libs/common/src/index.ts')).toBe(true);
  });

  it('reports every known-bad import of the fixture, and only those', async () => {
    const result = await cruise(FIXTURE, ['apps', 'libs', 'test']);
    expect(result.summary.violations.map(describeViolation).sort()).toEqual(
      [
        'apps-only-compose: apps/api/src/uses-lib-internals.ts -> libs/links/src/application/links.service.ts',
        'apps-only-compose: apps/api/src/uses-lib-internals.ts -> typeorm',
        'common-not-to-frameworks: libs/common/src/uses-frameworks.ts -> @nestjs/common',
        'common-not-to-frameworks: libs/common/src/uses-frameworks.ts -> bullmq',
        'common-not-to-frameworks: libs/common/src/uses-frameworks.ts -> fastify',
        'common-not-to-other-libs: libs/common/src/uses-other-lib.ts -> libs/http/src/index.ts',
        'domain-not-to-frameworks: libs/links/src/domain/uses-frameworks.ts -> @nestjs/common',
        'domain-not-to-frameworks: libs/links/src/domain/uses-frameworks.ts -> fastify',
        'domain-not-to-frameworks: libs/links/src/domain/uses-frameworks.ts -> pg',
        'domain-not-to-frameworks: libs/links/src/domain/uses-frameworks.ts -> typeorm',
        'domain-not-to-frameworks: libs/links/src/domain/uses-http-lib.ts -> libs/http/src/index.ts',
        'domain-not-to-other-libs: libs/links/src/domain/uses-http-lib.ts -> libs/http/src/index.ts',
        'domain-not-to-other-libs: libs/links/src/domain/uses-other-lib.ts -> libs/clicks/src/index.ts',
        'domain-not-to-outer-layers: libs/links/src/domain/uses-outer-layer.ts -> libs/links/src/application/links.service.ts',
        'libs-not-to-apps: libs/links/src/uses-app.ts -> apps/api/src/main.ts',
        'no-circular: libs/links/src/cycle-a.ts -> libs/links/src/cycle-b.ts',
        'no-database-mocks: test/integration/uses-mocks.test.ts -> ioredis-mock',
        'no-database-mocks: test/integration/uses-mocks.test.ts -> pg-mem',
        'not-to-unresolvable: test/integration/uses-mocks.test.ts -> ioredis-mock',
        'not-to-unresolvable: test/integration/uses-mocks.test.ts -> pg-mem',
        'production-not-to-test-code: libs/links/src/uses-test-support.ts -> test/support/aliases.ts',
      ].sort(),
    );
  }, 120_000);

  it('makes no module of apps or libs global except the configuration: each module imports what it uses', () => {
    const sources = ['apps', 'libs']
      .flatMap((dir) => readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) => path.join(dir, file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'));
    const global = sources.filter((file) => /@Global\(\)|global:\s*true/.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(global).toEqual([path.join('libs', 'config', 'src', 'config.module.ts')]);
  });

  it('keeps the SQL of each table in its one home (migrations aside)', () => {
    const tables = [
      ...new Set(
        readdirSync(path.join(ROOT, 'libs/database/src/migrations'))
          .map((file) => readFileSync(path.join(ROOT, 'libs/database/src/migrations', file), 'utf8'))
          .flatMap((text) => [...text.matchAll(/CREATE TABLE ([a-z_]+)/g)].map((m) => m[1])),
      ),
    ].sort();
    const sources = ['apps', 'libs']
      .flatMap((dir) => readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) => path.join(dir, file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts') && !/[/\\]migrations?[/\\]/.test(file))
      .map((file) => ({ file: file.split(path.sep).join('/'), text: readFileSync(path.join(ROOT, file), 'utf8') }));
    const homes = Object.fromEntries(
      tables.map((table) => [table, sources.filter((s) => new RegExp(`\\b(FROM|JOIN|UPDATE|INTO|TABLE)\\s+${table}\\b`).test(s.text)).map((s) => s.file)]),
    );
    expect(homes).toEqual({
      accounts: ['libs/auth/src/api-key.service.ts'],
      api_keys: ['libs/auth/src/api-key.service.ts'],
      blocked_hosts: [],
      click_batches: ['libs/clicks/src/persistence/click.repository.ts'],
      idempotency_keys: ['libs/links/src/application/idempotency.service.ts'],
      // A create writes its audit record in the same statement as the link (one round trip per batch of creates).
      link_audit: ['libs/links/src/application/link.repository.ts', 'libs/links/src/audit/link-audit.service.ts'],
      link_clicks_hourly: ['libs/clicks/src/persistence/click.repository.ts'],
      link_dimension_daily: ['libs/clicks/src/persistence/click.repository.ts'],
      link_visitors_daily: ['libs/clicks/src/persistence/click.repository.ts'],
      links: ['libs/links/src/application/link.repository.ts'],
      schema_compatibility: [],
    });
  });

  it('declares no in-memory PostgreSQL or Redis fake as a dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}));
    expect(declared.filter((name) => /^(pg-mem|pgmock|ioredis-mock|redis-mock)$/.test(name))).toEqual([]);
  });

  it('is what npm run lint:arch runs', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['lint:arch']).toBe('depcruise apps libs test --config .dependency-cruiser.js --output-type err');
  });
});

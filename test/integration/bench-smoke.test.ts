import { runSmokeBench } from '../support/bench-run';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * `npm run bench -- --smoke` as CI runs it: the whole bench on
 * tiny data for a second per row, proving that it starts what it needs,
 * measures every row and prints a table with numeric ratios. Speed is not
 * checked here (the full bench checks its own figures). Needs the compiled
 * apps (`npm run build`, which `npm test` runs first).
 */
const ROWS: [string, RegExp][] = [
  ['baseline', /^baseline: bare Fastify/],
  ['LRU hit, tracing off', /^redirect, LRU hit, tracing off$/],
  ['LRU hit', /^redirect, LRU hit$/],
  ['tracing overhead', /^tracing overhead: on at 1% \/ off$/],
  ['LRU hit, paced', /^redirect, LRU hit, paced at half that rate$/],
  ['Zipf', /^redirect, Zipf /],
  ['creates', /^create: single POST/],
  ['click ingest', /^click ingest at half the LRU-hit rate$/],
  ['cache-Redis hit', /^redirect, cache-Redis hit \(LRU off\)$/],
  ['cache-Redis hit, links locked', /^redirect, cache-Redis hit \(LRU off\), links locked$/],
  ['cold', /^redirect, cold \(PostgreSQL\), /],
  ['cold, paced', /^redirect, cold, paced at 5,000\/s, /],
  ['abuse, without the mix', /^abuse: redirect, LRU hit, without the mix$/],
  ['abuse, paced, without the mix', /^abuse: redirect, LRU hit, paced at half that rate, without the mix$/],
  ['abuse, under the mix', /^abuse: redirect, LRU hit, under the mix$/],
  ['abuse, paced, under the mix', /^abuse: redirect, LRU hit, paced at half that rate, under the mix$/],
];

/** What `--out` writes of the abuse rows (scripts/bench/run.mjs): the mix's summary, or why the rows failed. */
interface AbuseResults {
  failure: string | null;
  summary?: {
    bulkBytes: number;
    bulkLimitBytes: number;
    nested: { attempts: number; answered: Record<string, number> };
    wrongKeys: { attempts: number; answered: Record<string, number> };
    bulk: { attempts: number; answered: Record<string, number> };
  };
}

const runBench = (outDir: string) => runSmokeBench(['--out', outDir]);

/** The table's body rows as cells (Markdown pipes, header and separator skipped). */
function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n').filter((l) => l.startsWith('| '));
  return lines.slice(1).map((l) =>
    l
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.trim()),
  );
}

describe('npm run bench -- --smoke', () => {
  let result: { code: number | null; stdout: string; stderr: string };
  const outDir = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));

  beforeAll(async () => {
    result = await runBench(outDir);
  }, 240_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  it('exits 0', () => {
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-4000) }).toEqual({ code: 0, stderr: '' });
  });

  it('prints every row of the bench', () => {
    const names = tableRows(result.stdout).map((cells) => cells[0]);
    for (const [label, pattern] of ROWS) expect({ label, found: names.some((n) => pattern.test(n)) }).toEqual({ label, found: true });
  });

  it('prints a numeric ratio against the baseline on every row, and numeric speeds', () => {
    const header = result.stdout.split('\n').find((l) => l.startsWith('| row'))!;
    const columns = header
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.trim());
    const ratio = columns.indexOf('x baseline');
    const speed = columns.indexOf('req/s');
    const rows = tableRows(result.stdout);
    expect(rows.length).toBeGreaterThanOrEqual(ROWS.length);
    for (const cells of rows) {
      expect({ row: cells[0], ratio: Number.isFinite(Number(cells[ratio])) }).toEqual({ row: cells[0], ratio: true });
      if (!cells[0].startsWith('tracing overhead')) {
        const value = Number(cells[speed].replace(/,/g, '').replace(/ clicks\/s$/, ''));
        expect({ row: cells[0], speed: Number.isFinite(value) && value > 0 }).toEqual({ row: cells[0], speed: true });
      }
    }
  });

  it('traces the LRU-hit row at its 1% ratio (sampled redirects each have an access log line)', () => {
    const row = tableRows(result.stdout).find((cells) => cells[0].startsWith('tracing overhead'))!;
    const m = /% of redirects sampled \((\d+) of (\d+)\)/.exec(row[row.length - 1]);
    expect(m).not.toBeNull();
    const [sampled, served] = [Number(m![1]), Number(m![2])];
    // Binomial(served, 0.01) within 5 standard deviations; a head decision drawn twice per
    // request samples at 0.01% (ratio squared), far below this for any served count over 3,000.
    const mean = served * 0.01;
    const sd = Math.sqrt(served * 0.01 * 0.99);
    expect({ served: served > 3000, inRange: sampled >= mean - 5 * sd && sampled <= mean + 5 * sd }).toEqual({ served: true, inRange: true });
  });

  it('counts every click it served (click ingest row)', () => {
    const row = tableRows(result.stdout).find((cells) => cells[0].startsWith('click ingest'))!;
    const m = /(\d+) served, (\d+) committed, (\d+) dropped/.exec(row[row.length - 1]);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(Number(m![1]));
  });

  it('runs the abuse mix against the API: keyless 4 MiB nested bodies and wrong keys answered 401, bulk creates within the bulk limit and never refused', () => {
    const abuse = (JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')) as { abuse: AbuseResults }).abuse;
    expect(abuse.failure).toBeNull();
    const mix = abuse.summary!;
    const only401 = (answered: Record<string, number>) => ({ statuses: Object.keys(answered), some: (answered['401'] ?? 0) > 0 });
    expect(only401(mix.nested.answered)).toEqual({ statuses: ['401'], some: true });
    expect(only401(mix.wrongKeys.answered)).toEqual({ statuses: ['401'], some: true });
    // Built to the limit less 1 KiB of slack, and within 1,000 bytes of that (one per item at most).
    expect(mix.bulkLimitBytes - mix.bulkBytes).toBeGreaterThanOrEqual(1_024);
    expect(mix.bulkLimitBytes - mix.bulkBytes).toBeLessThan(1_024 + 1_000 + 16);
    // A 10 MiB bulk create takes seconds, longer than the smoke run's mix: any answer there was must be a 200.
    expect(mix.bulk.attempts).toBeGreaterThan(0);
    expect(Object.keys(mix.bulk.answered).filter((status) => status !== '200')).toEqual([]);
  });
});

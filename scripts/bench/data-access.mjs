// The data-access comparison behind docs/decisions/0001-data-access.md: CPU
// per query of the same lookup of one link by (domain, code) through
// (a) a pg pool with a named statement, (b) a pg pool with a plain text
// query, (c) TypeORM's DataSource.query (a QueryRunner per call) and
// (d) a TypeORM Repository.findOneBy, on one connection each, sequentially,
// so the figures are the client's CPU (process.cpuUsage), not round trips.
//
//   npm run build && node scripts/bench/data-access.mjs [postgres://...] [queries]
//
// Needs a migrated database with at least one link (e.g. `npm run up`'s, or a
// bench database); prints one line per approach and the ratio to (a).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'package.json'));
const { Pool } = require('pg');
const { DataSource } = require('typeorm');
const { LinkEntity } = require(path.join(root, 'dist/libs/links/src/application/link.entity.js'));

const url = process.argv[2] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shortener';
const queries = Number(process.argv[3] ?? 20_000);
const SQL = 'SELECT id, target, redirect_type, forward_query, expires_at, max_clicks, deleted_at, disabled_at FROM links WHERE domain = $1 AND code = $2';

const pool = new Pool({ connectionString: url, max: 1 });
const dataSource = new DataSource({ type: 'postgres', url, entities: [LinkEntity], extra: { max: 1 }, logging: false });
await dataSource.initialize();
const sample = (await pool.query('SELECT domain, code FROM links ORDER BY id LIMIT 1')).rows[0];
if (!sample) throw new Error(`no link in ${url}: create one first`);
const repository = dataSource.getRepository(LinkEntity);
const args = [sample.domain, sample.code];

const approaches = {
  'pg pool, named statement': () => pool.query({ name: 'data-access-bench', text: SQL, values: args }),
  'pg pool, text query': () => pool.query(SQL, args),
  'TypeORM DataSource.query': () => dataSource.query(SQL, args),
  'TypeORM Repository.findOneBy': () => repository.findOneBy({ domain: sample.domain, code: sample.code }),
};

/** CPU microseconds per call of `run` over `n` sequential calls, after a warm-up. */
async function cpuPerCall(run, n) {
  for (let i = 0; i < Math.min(2_000, n); i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const results = {};
// Two passes, interleaved, keeping each approach's lower figure: the machine's noise only ever adds.
for (let pass = 0; pass < 2; pass++) {
  for (const [name, run] of Object.entries(approaches)) results[name] = Math.min(results[name] ?? Infinity, await cpuPerCall(run, queries));
}
const base = results['pg pool, named statement'];
for (const [name, us] of Object.entries(results)) console.log(`${name.padEnd(30)} ${us.toFixed(1).padStart(7)} us CPU per query  x${(us / base).toFixed(2)}`);
await pool.end();
await dataSource.destroy();

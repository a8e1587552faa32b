import { Client } from 'pg';
import { testConfig } from './test-env';

/** A pg client on this Jest worker's database (end it in afterAll). */
export async function testDatabase(): Promise<Client> {
  const client = new Client({ connectionString: testConfig('worker').db.url });
  await client.connect();
  return client;
}

let counter = 0;
/** Inserts an account and a link of it straight into the database; returns the link's id (bigint as text). */
export async function insertLink(db: Client, label: string): Promise<{ id: string; code: string; domain: string }> {
  counter += 1;
  const code = `${label}-${process.env.JEST_WORKER_ID ?? '1'}-${Date.now().toString(36)}-${counter}`;
  const { rows: accounts } = await db.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ($1) RETURNING id`, [`rollup ${label}`]);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO links (domain, code, account_id, target, is_alias) VALUES ('short.example', $1, $2, 'https://example.com/', true) RETURNING id::text AS id`,
    [code, accounts[0].id],
  );
  return { id: rows[0].id, code, domain: 'short.example' };
}

/** The rollup rows of one link, as plain numbers: what the tests compare exactly. */
export async function rollupOf(db: Client, linkId: string) {
  const hourly = await db.query(`SELECT hour, human_clicks::int AS human, bot_clicks::int AS bot FROM link_clicks_hourly WHERE link_id = $1 ORDER BY hour`, [
    linkId,
  ]);
  const dimensions = await db.query(
    `SELECT day::text AS day, dimension, value, clicks::int AS clicks FROM link_dimension_daily WHERE link_id = $1 ORDER BY day, dimension, value COLLATE "C"`,
    [linkId],
  );
  const visitors = await db.query(`SELECT day::text AS day, length(hll) > 0 AS has_hll FROM link_visitors_daily WHERE link_id = $1 ORDER BY day`, [linkId]);
  const link = await db.query(`SELECT click_total::int AS total FROM links WHERE id = $1`, [linkId]);
  return {
    hourly: hourly.rows.map((r) => ({ hour: (r.hour as Date).toISOString(), human: r.human, bot: r.bot })),
    dimensions: dimensions.rows,
    visitorDays: visitors.rows.map((r) => r.day),
    clickTotal: link.rows[0].total as number,
  };
}

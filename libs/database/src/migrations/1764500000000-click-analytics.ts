import { MigrationInterface, QueryRunner } from 'typeorm';
import { setSchemaCompatibility } from '../migration/schema-compatibility';

/**
 * Click analytics (docs/design.md section 5), schema version 2 (additive, so
 * version-1 code keeps working: minCodeVersion stays 1):
 *
 * - `click_batches`: ids of batches already committed, written in the same
 *   transaction as the rollups so a retried batch never counts twice; pruned
 *   after `BATCH_ID_RETENTION_HOURS`.
 * - `link_clicks_hourly`: clicks per link per UTC hour, human and bot apart.
 * - `link_dimension_daily`: human clicks per link per UTC day per dimension
 *   value (referrer host, country, browser, OS, device type; '' = none/unknown).
 * - `link_visitors_daily`: a HyperLogLog of the day's visitor hashes per link,
 *   as the raw bytes of a Redis HLL string, mergeable with PFMERGE/PFCOUNT.
 *
 * All new and empty tables, so their indexes need no CONCURRENTLY.
 */
export class ClickAnalytics1764500000000 implements MigrationInterface {
  name = 'ClickAnalytics1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE click_batches (
        batch_id text NOT NULL,
        click_count bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT click_batches_pkey PRIMARY KEY (batch_id),
        CONSTRAINT click_batches_batch_id_check CHECK (length(batch_id) BETWEEN 1 AND 64)
      )`);
    // Pruning deletes the oldest ids.
    await q.query(`CREATE INDEX click_batches_processed_at_idx ON click_batches (processed_at)`);
    await q.query(`
      CREATE TABLE link_clicks_hourly (
        link_id bigint NOT NULL,
        hour timestamptz NOT NULL,
        human_clicks bigint NOT NULL DEFAULT 0,
        bot_clicks bigint NOT NULL DEFAULT 0,
        CONSTRAINT link_clicks_hourly_pkey PRIMARY KEY (link_id, hour),
        CONSTRAINT link_clicks_hourly_link_id_fkey FOREIGN KEY (link_id) REFERENCES links (id),
        CONSTRAINT link_clicks_hourly_hour_check CHECK (extract(epoch FROM hour) % 3600 = 0)
      )`);
    await q.query(`
      CREATE TABLE link_dimension_daily (
        link_id bigint NOT NULL,
        day date NOT NULL,
        dimension text NOT NULL,
        value text NOT NULL,
        clicks bigint NOT NULL DEFAULT 0,
        CONSTRAINT link_dimension_daily_pkey PRIMARY KEY (link_id, day, dimension, value),
        CONSTRAINT link_dimension_daily_link_id_fkey FOREIGN KEY (link_id) REFERENCES links (id),
        CONSTRAINT link_dimension_daily_dimension_check CHECK (dimension IN ('referrer', 'country', 'browser', 'os', 'device')),
        CONSTRAINT link_dimension_daily_value_check CHECK (length(value) <= 256)
      )`);
    await q.query(`
      CREATE TABLE link_visitors_daily (
        link_id bigint NOT NULL,
        day date NOT NULL,
        hll bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT link_visitors_daily_pkey PRIMARY KEY (link_id, day),
        CONSTRAINT link_visitors_daily_link_id_fkey FOREIGN KEY (link_id) REFERENCES links (id)
      )`);
    await setSchemaCompatibility(q, { version: 2, minCodeVersion: 1 });
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE link_visitors_daily, link_dimension_daily, link_clicks_hourly, click_batches`);
    await setSchemaCompatibility(q, { version: 1, minCodeVersion: 1 });
  }
}

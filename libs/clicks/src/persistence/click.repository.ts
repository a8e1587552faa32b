import { Injectable } from '@nestjs/common';
import { PgPools } from '@shortener/database';
import type { Queryable } from '@shortener/links';
import type { ClickDimension } from '../domain/click-dimensions.extractor';
import type { DimensionCount, HourlyCount } from '../domain/click-batch.aggregator';

// Every statement below takes its row locks in key order, and every
// transaction touches the tables in the same order (click_batches, hourly,
// dimensions, visitors, links), so concurrent transactions wait for each
// other on hot rows but never deadlock. `links` comes last so a limited
// link's redirect (which updates the same row) waits as little as possible.
const INSERT_BATCHES = `
  INSERT INTO click_batches (batch_id, click_count)
  SELECT u.batch_id, u.click_count FROM unnest($1::text[], $2::bigint[]) AS u(batch_id, click_count)
   ORDER BY u.batch_id
  ON CONFLICT (batch_id) DO NOTHING
  RETURNING batch_id`;
const UPSERT_HOURLY = `
  INSERT INTO link_clicks_hourly AS h (link_id, hour, human_clicks, bot_clicks)
  SELECT u.link_id, u.hour, u.human, u.bot
    FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[]) AS u(link_id, hour, human, bot)
   ORDER BY u.link_id, u.hour
  ON CONFLICT (link_id, hour) DO UPDATE
     SET human_clicks = h.human_clicks + EXCLUDED.human_clicks, bot_clicks = h.bot_clicks + EXCLUDED.bot_clicks`;
const UPSERT_DIMENSIONS = `
  INSERT INTO link_dimension_daily AS d (link_id, day, dimension, value, clicks)
  SELECT u.link_id, u.day, u.dimension, u.value, u.clicks
    FROM unnest($1::bigint[], $2::date[], $3::text[], $4::text[], $5::bigint[]) AS u(link_id, day, dimension, value, clicks)
   ORDER BY u.link_id, u.day, u.dimension, u.value
  ON CONFLICT (link_id, day, dimension, value) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks`;
// Locks (creating when missing) the day rows and reads their current HLLs:
// the HLL is then updated from what is stored, under the row lock, so
// concurrent batches of one link and day never overwrite each other's visitors.
const LOCK_VISITORS = `
  INSERT INTO link_visitors_daily AS v (link_id, day, hll)
  SELECT u.link_id, u.day, '\\x'::bytea FROM unnest($1::bigint[], $2::date[]) AS u(link_id, day)
   ORDER BY u.link_id, u.day
  ON CONFLICT (link_id, day) DO UPDATE SET updated_at = now()
  RETURNING v.link_id::text AS link_id, v.day::text AS day, v.hll`;
const WRITE_VISITORS = `
  UPDATE link_visitors_daily AS v SET hll = u.hll, updated_at = now()
    FROM unnest($1::bigint[], $2::date[], $3::bytea[]) AS u(link_id, day, hll)
   WHERE v.link_id = u.link_id AND v.day = u.day`;
const PRUNE_BATCH_IDS = `
  DELETE FROM click_batches WHERE batch_id IN (
    SELECT batch_id FROM click_batches WHERE processed_at < $1 LIMIT $2)`;
const PURGE_HOURLY = `DELETE FROM link_clicks_hourly WHERE link_id = ANY($1::bigint[])`;
const PURGE_DIMENSIONS = `DELETE FROM link_dimension_daily WHERE link_id = ANY($1::bigint[])`;
const PURGE_VISITORS = `DELETE FROM link_visitors_daily WHERE link_id = ANY($1::bigint[])`;
const HOURLY = `
  SELECT (extract(epoch FROM hour) * 1000)::bigint::text AS ms, human_clicks::text AS human, bot_clicks::text AS bot
    FROM link_clicks_hourly WHERE link_id = $1 AND hour >= $2 AND hour < $3`;
// Ties broken by value, bytewise (COLLATE "C"), so the lists do not depend on the database locale.
const TOPS = `
  SELECT dimension, value, clicks::text AS clicks FROM (
    SELECT dimension, value, sum(clicks) AS clicks,
           row_number() OVER (PARTITION BY dimension ORDER BY sum(clicks) DESC, value COLLATE "C") AS rank
      FROM link_dimension_daily WHERE link_id = $1 AND day BETWEEN $2::date AND $3::date
     GROUP BY dimension, value) ranked
   WHERE rank <= $4
   ORDER BY dimension, rank`;
const VISITORS = `SELECT hll FROM link_visitors_daily WHERE link_id = $1 AND day BETWEEN $2::date AND $3::date`;

/** A link's stored unique-visitor HLL of one UTC day (`day` as YYYY-MM-DD). */
export interface StoredVisitorDay {
  linkId: string;
  day: string;
  hll: Buffer;
}

/**
 * All SQL of the click tables (`click_batches`, `link_clicks_hourly`,
 * `link_dimension_daily`, `link_visitors_daily`), in one place: parameterised
 * SQL through `pg` (see docs/decisions/0001-data-access.md). Methods that
 * take a {@link Queryable} run inside the caller's transaction (the rollup's,
 * housekeeping's), in the table order above; the stats reads use the read
 * pool (a replica when configured).
 */
@Injectable()
export class ClickRepository {
  constructor(private readonly pools: PgPools) {}

  /** Records batch ids with their click counts; returns the ids recorded now (the others were already, and count nothing). */
  async recordBatches(client: Queryable, batchIds: readonly string[], clickCounts: readonly number[]): Promise<Set<string>> {
    const { rows } = await client.query<{ batch_id: string }>(INSERT_BATCHES, [batchIds, clickCounts]);
    return new Set(rows.map((r) => r.batch_id));
  }

  /** Adds human and bot clicks per link and hour. */
  async addHourly(client: Queryable, rows: readonly HourlyCount[]): Promise<void> {
    await client.query(UPSERT_HOURLY, [rows.map((h) => h.linkId), rows.map((h) => new Date(h.hour)), rows.map((h) => h.human), rows.map((h) => h.bot)]);
  }

  /** Adds clicks per link, day and dimension value. */
  async addDimensions(client: Queryable, rows: readonly DimensionCount[]): Promise<void> {
    await client.query(UPSERT_DIMENSIONS, [
      rows.map((d) => d.linkId),
      rows.map((d) => d.day),
      rows.map((d) => d.dimension),
      rows.map((d) => d.value),
      rows.map((d) => d.clicks),
    ]);
  }

  /** Locks the visitor rows of `linkIds[i]` on `days[i]` (creating empty ones) and returns what they hold. */
  async lockVisitorDays(client: Queryable, linkIds: readonly string[], days: readonly string[]): Promise<StoredVisitorDay[]> {
    const { rows } = await client.query<{ link_id: string; day: string; hll: Buffer }>(LOCK_VISITORS, [linkIds, days]);
    return rows.map((r) => ({ linkId: r.link_id, day: r.day, hll: r.hll }));
  }

  /** Stores the updated HLLs of rows locked by {@link lockVisitorDays}. */
  async writeVisitorDays(client: Queryable, days: readonly StoredVisitorDay[]): Promise<void> {
    await client.query(WRITE_VISITORS, [days.map((v) => v.linkId), days.map((v) => v.day), days.map((v) => v.hll)]);
  }

  /** Deletes up to `limit` batch ids recorded before `before`, in one autocommit statement; returns how many went. */
  async deleteBatchIdsBefore(before: Date, limit: number): Promise<number> {
    return (await this.pools.write.query(PRUNE_BATCH_IDS, [before, limit])).rowCount ?? 0;
  }

  /** Deletes every rollup row of `linkIds` (hourly, dimensions, visitors). */
  async purgeAnalytics(client: Queryable, linkIds: readonly string[]): Promise<void> {
    await client.query(PURGE_HOURLY, [linkIds]);
    await client.query(PURGE_DIMENSIONS, [linkIds]);
    await client.query(PURGE_VISITORS, [linkIds]);
  }

  /** Hourly clicks of a link in `[start, end)`: each hour's start (epoch ms, as text) with its human and bot clicks (as text). */
  async hourly(linkId: string, start: Date, end: Date): Promise<{ ms: string; human: string; bot: string }[]> {
    return (await this.pools.read.query<{ ms: string; human: string; bot: string }>(HOURLY, [linkId, start, end])).rows;
  }

  /** The `limit` values of each dimension with the most clicks from `firstDay` to `lastDay` (YYYY-MM-DD, inclusive), by dimension then rank. */
  async topValues(linkId: string, firstDay: string, lastDay: string, limit: number): Promise<{ dimension: ClickDimension; value: string; clicks: string }[]> {
    return (await this.pools.read.query<{ dimension: ClickDimension; value: string; clicks: string }>(TOPS, [linkId, firstDay, lastDay, limit])).rows;
  }

  /** The visitor HLLs of a link's days from `firstDay` to `lastDay` (inclusive). */
  async visitorHlls(linkId: string, firstDay: string, lastDay: string): Promise<Buffer[]> {
    return (await this.pools.read.query<{ hll: Buffer }>(VISITORS, [linkId, firstDay, lastDay])).rows.map((r) => r.hll);
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@shortener/common';
import { PgPools } from '@shortener/database';
import { LinkRepository } from '@shortener/links';
import { MetricsService } from '@shortener/observability';
import { QueuedClick } from '@shortener/queue';
import type { PoolClient } from 'pg';
import { aggregateClicks, ClickAggregate } from '../domain/click-batch.aggregator';
import { ClickClassifier } from '../domain/click-dimensions.extractor';
import { VisitorHllStore } from '../visitors/visitor-hll.store';

/** One click batch to commit: its id (recorded for exactly-once counting) and its clicks. */
export interface ClickBatchInput {
  batchId: string;
  clicks: readonly QueuedClick[];
}

/** What committing a batch did. */
export interface ClickRollupResult {
  batchId: string;
  /** True when the batch id was already recorded: nothing was counted again. */
  duplicate: boolean;
  /** Clicks added to the rollups (clicks of unknown link ids are skipped). */
  committed: number;
}

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

/**
 * Commits click batches to the rollups (docs/design.md section 5). Any number of
 * batches go in ONE PostgreSQL transaction that also records their batch
 * ids: a batch delivered again (a retried or stalled job, a replayed
 * payload) finds its id and counts nothing, so counts stay exact under
 * at-least-once delivery. Committing several batches at once is what keeps
 * the cost per click low under load: the rows written per transaction grow
 * with the links, hours and days the clicks touch, not with the clicks.
 *
 * Per transaction: hourly clicks (human and bot apart), daily dimension
 * counts, daily unique-visitor HLLs (see {@link VisitorHllStore}; a day row
 * whose HLL the clicks leave unchanged is not rewritten) and
 * `links.click_total`. Records `shortener_clicks_committed_total` and
 * `shortener_click_ingest_lag_seconds` (from each click's instant to the
 * commit) after the commit.
 */
@Injectable()
export class ClickRollupService {
  private readonly logger = new Logger(ClickRollupService.name);
  private readonly classifier = new ClickClassifier();

  constructor(
    private readonly pools: PgPools,
    private readonly links: LinkRepository,
    private readonly hll: VisitorHllStore,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Commits one batch in its own transaction.
   * @throws when PostgreSQL or Redis fails; the transaction is rolled back
   *   and nothing of the batch is counted (the job is retried).
   */
  async commit(batchId: string, clicks: readonly QueuedClick[]): Promise<ClickRollupResult> {
    return (await this.commitBatches([{ batchId, clicks }]))[0];
  }

  /**
   * Commits batches in one transaction: all of them or none.
   *
   * @returns one result per input, in input order. A batch whose id is
   *   already recorded, or that appears earlier in `batches`, is a duplicate
   *   and counts nothing.
   * @throws when PostgreSQL or Redis fails; the transaction is rolled back
   *   and nothing of any batch is counted.
   */
  async commitBatches(batches: readonly ClickBatchInput[]): Promise<ClickRollupResult[]> {
    const first = new Map<string, ClickBatchInput>();
    for (const b of batches) if (!first.has(b.batchId)) first.set(b.batchId, b);
    const unique = [...first.values()];
    if (unique.length === 0) return [];
    const client = await this.pools.write.connect();
    const fresh = new Set<string>();
    let known: QueuedClick[] = [];
    let existing = new Set<string>();
    try {
      await client.query('BEGIN');
      const inserted = await client.query<{ batch_id: string }>(INSERT_BATCHES, [unique.map((b) => b.batchId), unique.map((b) => b.clicks.length)]);
      for (const r of inserted.rows) fresh.add(r.batch_id);
      if (fresh.size === 0) {
        await client.query('ROLLBACK');
      } else {
        const clicks = unique.filter((b) => fresh.has(b.batchId)).flatMap((b) => b.clicks);
        const ids = [...new Set(clicks.map((c) => c.linkId))];
        existing = await this.links.existingIds(client, ids);
        known = existing.size === ids.length ? clicks : clicks.filter((c) => existing.has(c.linkId));
        if (known.length < clicks.length) this.logger.warn(`batches ${[...fresh].join(', ')}: skipped ${clicks.length - known.length} clicks of unknown links`);
        await this.write(client, aggregateClicks(known, this.classifier));
        await client.query('COMMIT');
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (known.length > 0) {
      const now = this.clock.now();
      this.metrics.clicksCommitted.inc(known.length);
      const lag = this.metrics.clickIngestLag;
      for (const c of known) lag.observe(Math.max(0, (now - c.at) / 1000));
    }
    const counted = new Set<ClickBatchInput>();
    return batches.map((b) => {
      const mine = first.get(b.batchId) === b && fresh.has(b.batchId) && !counted.has(b);
      if (!mine) return { batchId: b.batchId, duplicate: true, committed: 0 };
      counted.add(b);
      let committed = 0;
      for (const c of b.clicks) if (existing.has(c.linkId)) committed += 1;
      return { batchId: b.batchId, duplicate: false, committed };
    });
  }

  private async write(client: PoolClient, agg: ClickAggregate): Promise<void> {
    if (agg.hourly.length > 0) {
      await client.query(UPSERT_HOURLY, [
        agg.hourly.map((h) => h.linkId),
        agg.hourly.map((h) => new Date(h.hour)),
        agg.hourly.map((h) => h.human),
        agg.hourly.map((h) => h.bot),
      ]);
    }
    if (agg.dimensions.length > 0) {
      await client.query(UPSERT_DIMENSIONS, [
        agg.dimensions.map((d) => d.linkId),
        agg.dimensions.map((d) => d.day),
        agg.dimensions.map((d) => d.dimension),
        agg.dimensions.map((d) => d.value),
        agg.dimensions.map((d) => d.clicks),
      ]);
    }
    if (agg.visitors.length > 0) {
      const { rows } = await client.query<{ link_id: string; day: string; hll: Buffer }>(LOCK_VISITORS, [
        agg.visitors.map((v) => v.linkId),
        agg.visitors.map((v) => v.day),
      ]);
      const stored = new Map(rows.map((r) => [`${r.link_id}|${r.day}`, r.hll]));
      const updated = await this.hll.add(
        agg.visitors.map((v) => ({ stored: stored.get(`${v.linkId}|${v.day}`) ?? Buffer.alloc(0), visitorHashes: v.visitorHashes })),
      );
      const changed = agg.visitors.flatMap((v, i) => (updated[i] ? [{ ...v, hll: updated[i] }] : []));
      if (changed.length > 0) {
        await client.query(WRITE_VISITORS, [changed.map((v) => v.linkId), changed.map((v) => v.day), changed.map((v) => v.hll)]);
      }
    }
    if (agg.totals.length > 0) {
      await this.links.addClickTotals(
        client,
        agg.totals.map((t) => t.linkId),
        agg.totals.map((t) => t.clicks),
      );
    }
  }
}

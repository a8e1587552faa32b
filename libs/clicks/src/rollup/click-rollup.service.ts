import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@shortener/common';
import { PgPools } from '@shortener/database';
import { LinkRepository } from '@shortener/links';
import { MetricsService } from '@shortener/observability';
import { QueuedClick } from '@shortener/queue';
import type { PoolClient } from 'pg';
import { aggregateClicks, ClickAggregate } from '../domain/click-batch.aggregator';
import { ClickClassifier } from '../domain/click-dimensions.extractor';
import { ClickRepository } from '../persistence/click.repository';
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
    private readonly clicks: ClickRepository,
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
      for (const id of await this.clicks.recordBatches(
        client,
        unique.map((b) => b.batchId),
        unique.map((b) => b.clicks.length),
      ))
        fresh.add(id);
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
      await this.clicks.addHourly(client, agg.hourly);
    }
    if (agg.dimensions.length > 0) {
      await this.clicks.addDimensions(client, agg.dimensions);
    }
    if (agg.visitors.length > 0) {
      const rows = await this.clicks.lockVisitorDays(
        client,
        agg.visitors.map((v) => v.linkId),
        agg.visitors.map((v) => v.day),
      );
      const stored = new Map(rows.map((r) => [`${r.linkId}|${r.day}`, r.hll]));
      const updated = await this.hll.add(
        agg.visitors.map((v) => ({ stored: stored.get(`${v.linkId}|${v.day}`) ?? Buffer.alloc(0), visitorHashes: v.visitorHashes })),
      );
      const changed = agg.visitors.flatMap((v, i) => (updated[i] ? [{ linkId: v.linkId, day: v.day, hll: updated[i] }] : []));
      if (changed.length > 0) await this.clicks.writeVisitorDays(client, changed);
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

import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { PgPools } from '@shortener/database';
import { HandlesJob, JOBS, JobHandler, MaintenanceJobData } from '@shortener/queue';
import { Job } from 'bullmq';

/** Rows deleted per statement and statements per run: each run is bounded; the next one continues. */
const CHUNK = 5_000;
const MAX_ROUNDS = 100;
/** Links whose analytics are purged per transaction. */
const PURGE_CHUNK = 100;
/** Idempotency keys are kept 24 h (docs/design.md section 3). */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 3_600_000;

const PRUNE_BATCH_IDS = `
  DELETE FROM click_batches WHERE batch_id IN (
    SELECT batch_id FROM click_batches WHERE processed_at < $1 LIMIT $2)`;
const PRUNE_IDEMPOTENCY_KEYS = `
  DELETE FROM idempotency_keys WHERE (account_id, key) IN (
    SELECT account_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`;
// Candidates come from links_deleted_with_clicks_idx (deleted, click_total > 0).
// The rows are locked first (skipping busy ones, so this never waits) so a
// link revived meanwhile is left alone; a deleted link gets no clicks, so no
// rollup transaction holds its rollup rows.
const LOCK_PURGEABLE = `
  SELECT id FROM links
   WHERE deleted_at IS NOT NULL AND deleted_at < $1 AND click_total > 0
   ORDER BY deleted_at
   LIMIT $2
   FOR UPDATE SKIP LOCKED`;

/** What one housekeeping run removed. */
export interface HousekeepingResult {
  batchIdsPruned: number;
  idempotencyKeysPruned: number;
  linksPurged: number;
}

/**
 * Handles `housekeeping`: prunes click batch ids older than
 * `BATCH_ID_RETENTION_HOURS` (a batch retried after that would count twice,
 * so the retention must exceed the longest retry and redelivery window),
 * idempotency keys older than 24 h, and purges the analytics of links
 * deleted more than `DELETED_LINK_RETENTION_DAYS` ago (their rollups and
 * visitor HLLs, and `click_total` reset to 0 so lists and stats agree).
 */
@Injectable()
@HandlesJob(JOBS.housekeeping)
export class HousekeepingHandler implements JobHandler<MaintenanceJobData, HousekeepingResult> {
  private readonly logger = new Logger(HousekeepingHandler.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pools: PgPools,
    private readonly clock: Clock,
  ) {}

  /** @throws when PostgreSQL fails (the job is retried; what was removed stays removed). */
  async handle(_job?: Job<MaintenanceJobData>): Promise<HousekeepingResult> {
    const now = this.clock.now();
    const result: HousekeepingResult = {
      batchIdsPruned: await this.deleteInChunks(PRUNE_BATCH_IDS, new Date(now - this.config.worker.batchIdRetentionHours * 3_600_000)),
      idempotencyKeysPruned: await this.deleteInChunks(PRUNE_IDEMPOTENCY_KEYS, new Date(now - IDEMPOTENCY_KEY_RETENTION_MS)),
      linksPurged: await this.purgeDeletedLinks(new Date(now - this.config.worker.deletedLinkRetentionDays * 86_400_000)),
    };
    this.logger.log(`housekeeping: ${JSON.stringify(result)}`);
    return result;
  }

  private async deleteInChunks(sql: string, before: Date): Promise<number> {
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const { rowCount } = await this.pools.write.query(sql, [before, CHUNK]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < CHUNK) break;
    }
    return total;
  }

  private async purgeDeletedLinks(deletedBefore: Date): Promise<number> {
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const client = await this.pools.write.connect();
      let ids: string[];
      try {
        await client.query('BEGIN');
        ids = (await client.query<{ id: string }>(LOCK_PURGEABLE, [deletedBefore, PURGE_CHUNK])).rows.map((r) => String(r.id));
        if (ids.length > 0) {
          await client.query(`DELETE FROM link_clicks_hourly WHERE link_id = ANY($1::bigint[])`, [ids]);
          await client.query(`DELETE FROM link_dimension_daily WHERE link_id = ANY($1::bigint[])`, [ids]);
          await client.query(`DELETE FROM link_visitors_daily WHERE link_id = ANY($1::bigint[])`, [ids]);
          await client.query(`UPDATE links SET click_total = 0 WHERE id = ANY($1::bigint[])`, [ids]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      total += ids.length;
      if (ids.length < PURGE_CHUNK) break;
    }
    return total;
  }
}

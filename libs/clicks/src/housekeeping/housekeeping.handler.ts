import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { PgPools } from '@shortener/database';
import { IdempotencyService, LinkRepository } from '@shortener/links';
import { HandlesJob, JOBS, JobHandler, MaintenanceJobData } from '@shortener/queue';
import { Job } from 'bullmq';
import { ClickRepository } from '../persistence/click.repository';

/** Rows deleted per statement and statements per run: each run is bounded; the next one continues. */
const CHUNK = 5_000;
const MAX_ROUNDS = 100;
/** Links whose analytics are purged per transaction. */
const PURGE_CHUNK = 100;

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
 * idempotency keys older than 24 h (the links library's
 * {@link IdempotencyService.pruneExpired}), and purges the analytics of links
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
    private readonly clicks: ClickRepository,
    private readonly links: LinkRepository,
    private readonly idempotency: IdempotencyService,
    private readonly clock: Clock,
  ) {}

  /** @throws when PostgreSQL fails (the job is retried; what was removed stays removed). */
  async handle(_job?: Job<MaintenanceJobData>): Promise<HousekeepingResult> {
    const now = this.clock.now();
    const result: HousekeepingResult = {
      batchIdsPruned: await this.pruneBatchIds(new Date(now - this.config.worker.batchIdRetentionHours * 3_600_000)),
      idempotencyKeysPruned: await this.idempotency.pruneExpired(now),
      linksPurged: await this.purgeDeletedLinks(new Date(now - this.config.worker.deletedLinkRetentionDays * 86_400_000)),
    };
    this.logger.log(`housekeeping: ${JSON.stringify(result)}`);
    return result;
  }

  private async pruneBatchIds(before: Date): Promise<number> {
    let total = 0;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const deleted = await this.clicks.deleteBatchIdsBefore(before, CHUNK);
      total += deleted;
      if (deleted < CHUNK) break;
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
        // A deleted link gets no clicks, so no rollup transaction holds the rollup rows of those locked here.
        ids = await this.links.lockPurgeable(client, deletedBefore, PURGE_CHUNK);
        if (ids.length > 0) {
          await this.clicks.purgeAnalytics(client, ids);
          await this.links.resetClickTotals(client, ids);
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

import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@shortener/common';
import { HandlesJob, JOBS, JobHandler, MaintenanceJobData } from '@shortener/queue';
import { Job } from 'bullmq';
import { LinkRepository } from '../application/link.repository';
import { LinkCacheService } from '../redirect/link-cache.service';

/** Links marked per statement; a tick repeats up to {@link MAX_ROUNDS} times. */
const CHUNK = 1_000;
const MAX_ROUNDS = 50;
/** Cache evictions in flight at once. */
const EVICT_CONCURRENCY = 32;

/** What one sweep did. */
export interface ExpirySweepResult {
  expired: number;
}

/**
 * Handles `expiry-sweep` (docs/design.md section 5, Expiry): marks links whose
 * `expiresAt` has passed (inclusive, by the worker's clock) with
 * `expired_at`, then evicts each from the cache Redis and, through the
 * invalidation bus, from every API process's LRU ({@link LinkCacheService}). The redirect already refuses them by
 * `expiresAt`; this retires them for lists and caches.
 */
@Injectable()
@HandlesJob(JOBS.expirySweep)
export class ExpirySweepHandler implements JobHandler<MaintenanceJobData, ExpirySweepResult> {
  private readonly logger = new Logger(ExpirySweepHandler.name);

  constructor(
    private readonly links: LinkRepository,
    private readonly cache: LinkCacheService,
    private readonly clock: Clock,
  ) {}

  /** @throws when PostgreSQL fails (the job is retried; marked links stay marked). */
  async handle(_job?: Job<MaintenanceJobData>): Promise<ExpirySweepResult> {
    let expired = 0;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = new Date(this.clock.now());
      const rows = await this.links.markExpired(now, CHUNK);
      expired += rows.length;
      // Evicted after the commit (autocommit statement), so no process re-caches the old row.
      for (let i = 0; i < rows.length; i += EVICT_CONCURRENCY) {
        await Promise.all(rows.slice(i, i + EVICT_CONCURRENCY).map((r) => this.cache.invalidate(r.domain, r.code)));
      }
      if (rows.length < CHUNK) break;
    }
    if (expired > 0) this.logger.log(`marked ${expired} links expired`);
    return { expired };
  }
}

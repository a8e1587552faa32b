import { Injectable } from '@nestjs/common';
import { CLICK_BATCH_MAX_CLICKS, CLICK_BATCH_VERSION, ClickBatchJobData, HandlesJob, JOBS, JobHandler } from '@shortener/queue';
import { Job, UnrecoverableError } from 'bullmq';
import { ClickCommitCoalescer } from './click-commit.coalescer';
import { ClickQueueCounter } from './click-queue.counter';
import type { ClickRollupResult } from './click-rollup.service';

const LINK_ID = /^[1-9][0-9]{0,18}$/;
// Largest bigint: a longer or larger id would fail the whole transaction in PostgreSQL.
const MAX_LINK_ID = '9223372036854775807';
const validLinkId = (id: string) => LINK_ID.test(id) && (id.length < MAX_LINK_ID.length || id <= MAX_LINK_ID);

/**
 * Handles `click-batch` jobs: checks the payload, then commits it through
 * {@link ClickCommitCoalescer} (together with the other jobs that wait at
 * the same time, in one transaction). A payload that can never be processed
 * (unknown version, malformed) fails for good instead of being retried.
 */
@Injectable()
@HandlesJob(JOBS.clickBatch)
export class ClickBatchHandler implements JobHandler<ClickBatchJobData, ClickRollupResult> {
  constructor(
    private readonly commits: ClickCommitCoalescer,
    private readonly queued: ClickQueueCounter,
  ) {}

  /**
   * Commits the batch, then lowers the queue's depth in clicks by its clicks.
   * @throws UnrecoverableError for an invalid payload; the rollup's error otherwise (retried).
   */
  async handle(job: Job<ClickBatchJobData>): Promise<ClickRollupResult> {
    const data = job.data;
    const problem = payloadProblem(data);
    if (problem) {
      // The payload comes from Redis: it may be anything, which payloadProblem just said it is.
      const clicks: unknown = (data as ClickBatchJobData | undefined)?.clicks;
      await this.queued.remove(Array.isArray(clicks) ? clicks.length : 0);
      throw new UnrecoverableError(`click batch ${job.id}: ${problem}`);
    }
    // The transaction's span links to the sampled redirects it counts (docs/design.md section 7).
    const result = await this.commits.submit({ batchId: data.batchId, clicks: data.clicks }, { queue: job.queueName, name: job.name, id: job.id });
    await this.queued.remove(data.clicks.length);
    return result;
  }
}

/** Why a payload cannot be processed, or null. */
export function payloadProblem(data: ClickBatchJobData | undefined): string | null {
  if (data?.v !== CLICK_BATCH_VERSION) return `unknown payload version ${String(data?.v)}`;
  if (typeof data.batchId !== 'string' || data.batchId.length < 1 || data.batchId.length > 64) return 'invalid batch id';
  if (!Array.isArray(data.clicks) || data.clicks.length > CLICK_BATCH_MAX_CLICKS) return 'clicks missing or above the cap';
  for (const c of data.clicks as readonly (ClickBatchJobData['clicks'][number] | null | undefined)[]) {
    if (typeof c?.linkId !== 'string' || !validLinkId(c.linkId) || !Number.isFinite(c.at) || typeof c.visitorHash !== 'string') {
      return 'malformed click';
    }
  }
  return null;
}

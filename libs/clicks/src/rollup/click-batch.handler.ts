import { Injectable } from '@nestjs/common';
import { withJobSpan } from '@shortener/observability';
import { CLICK_BATCH_MAX_CLICKS, CLICK_BATCH_VERSION, ClickBatchJobData, HandlesJob, JOBS, JobHandler } from '@shortener/queue';
import { Job, UnrecoverableError } from 'bullmq';
import { ClickRollupResult, ClickRollupService } from './click-rollup.service';

const LINK_ID = /^[1-9][0-9]{0,18}$/;

/**
 * Handles `click-batch` jobs: checks the payload, then commits it through
 * {@link ClickRollupService}. A payload that can never be processed (unknown
 * version, malformed) fails for good instead of being retried.
 */
@Injectable()
@HandlesJob(JOBS.clickBatch)
export class ClickBatchHandler implements JobHandler<ClickBatchJobData, ClickRollupResult> {
  constructor(private readonly rollup: ClickRollupService) {}

  /** @throws UnrecoverableError for an invalid payload; the rollup's error otherwise (retried). */
  handle(job: Job<ClickBatchJobData>): Promise<ClickRollupResult> {
    const data = job.data;
    const problem = payloadProblem(data);
    if (problem) throw new UnrecoverableError(`click batch ${job.id}: ${problem}`);
    // The batch's span links to the sampled redirects it counts (DESIGN.md section 7).
    const traced = { queue: job.queueName, name: job.name, id: job.id, messageCount: data.clicks.length };
    return withJobSpan(traced, data.clicks.map((c) => c.traceparent), () => this.rollup.commit(data.batchId, data.clicks));
  }
}

/** Why a payload cannot be processed, or null. */
export function payloadProblem(data: ClickBatchJobData): string | null {
  if (data?.v !== CLICK_BATCH_VERSION) return `unknown payload version ${String(data?.v)}`;
  if (typeof data.batchId !== 'string' || data.batchId.length < 1 || data.batchId.length > 64) return 'invalid batch id';
  if (!Array.isArray(data.clicks) || data.clicks.length > CLICK_BATCH_MAX_CLICKS) return 'clicks missing or above the cap';
  for (const c of data.clicks) {
    if (typeof c?.linkId !== 'string' || !LINK_ID.test(c.linkId) || !Number.isFinite(c.at) || typeof c.visitorHash !== 'string') {
      return 'malformed click';
    }
  }
  return null;
}

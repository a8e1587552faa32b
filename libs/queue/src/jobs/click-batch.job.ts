import type { JobsOptions } from 'bullmq';

/**
 * One click as it travels through the queue (docs/design.md section 5): the same
 * fields as the redirect's `ClickEvent`, never the raw client address.
 */
export interface QueuedClick {
  /** `links.id` (bigint as a decimal string). */
  linkId: string;
  /** Epoch milliseconds of the redirect. */
  at: number;
  /** Lower-case host of the Referer, or null. At most {@link MAX_REFERRER_HOST_LENGTH} characters. */
  referrerHost: string | null;
  /** At most {@link MAX_USER_AGENT_LENGTH} characters, or null. */
  userAgent: string | null;
  /** Salted hash of the client address, for unique visitors. */
  visitorHash: string;
  /** ISO 3166-1 alpha-2, or null. */
  country: string | null;
  /** W3C trace context of a sampled redirect span, for span links. */
  traceparent?: string;
}

/** Payload of a `click-batch` job. */
export interface ClickBatchJobData {
  /** Payload format version; a worker refuses versions it does not know. */
  v: 1;
  /** Unique per batch (a UUID); recorded in the rollup transaction so a retried batch never counts twice. */
  batchId: string;
  clicks: QueuedClick[];
}

/** Payload format version written by this code. */
export const CLICK_BATCH_VERSION = 1 as const;
/** Hard cap of clicks in one job, whatever `CLICK_BATCH_SIZE` says. */
export const CLICK_BATCH_MAX_CLICKS = 1_000;
/**
 * Hard cap of one job's serialized payload in bytes (UTF-16 code units of the
 * JSON, an upper bound for ASCII-dominated data): keeps Redis memory and the
 * worker's per-job work bounded.
 */
export const CLICK_BATCH_MAX_BYTES = 256 * 1024;
export const MAX_USER_AGENT_LENGTH = 512;
export const MAX_REFERRER_HOST_LENGTH = 255;

/**
 * Options of every click batch job.
 *
 * - `jobId` is set to the batch id by the producer: a deterministic id makes a
 *   re-sent `add` (e.g. after a timeout whose command did reach Redis) a
 *   no-op instead of a second job. The rollup's batch-id table is the second
 *   line of defence, for deliveries BullMQ itself repeats (stalled jobs).
 * - Retries back off exponentially (1 s, 2 s, 4 s, ... about 4 min in all).
 * - Completed jobs are removed at once (the rollups are the record); failed
 *   ones stay a week for inspection and manual retry.
 */
export const CLICK_BATCH_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

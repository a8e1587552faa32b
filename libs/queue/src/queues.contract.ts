/**
 * The queue contracts shared by the API (producer) and the worker (consumer):
 * every queue and every job, in one table each. A job's payload type lives in
 * `jobs/<job>.job.ts`; the worker refuses to start unless every job listed in
 * {@link JOBS} has exactly one handler (see `worker/job-wiring.check.ts`).
 */

/** Every BullMQ queue, by key. The value is the queue name under `QUEUE_PREFIX`. */
export const QUEUES = {
  /** Click batches published by the API's click recorder. */
  clicks: 'clicks',
  /** Scheduled maintenance: expiry sweep and housekeeping. */
  maintenance: 'maintenance',
} as const;

/** A queue name. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** A job kind: the queue it is added to and its BullMQ job name. */
export interface JobDefinition {
  queue: QueueName;
  name: string;
}

/** Every job kind, by key. Names are unique across queues so logs and metrics stay unambiguous. */
export const JOBS = {
  /** One batch of click events to aggregate into rollups ({@link ClickBatchJobData}). */
  clickBatch: { queue: QUEUES.clicks, name: 'click-batch' },
  /** Marks links past `expiresAt` as expired and evicts them from caches. */
  expirySweep: { queue: QUEUES.maintenance, name: 'expiry-sweep' },
  /** Prunes batch ids and idempotency keys; purges analytics of long-deleted links. */
  housekeeping: { queue: QUEUES.maintenance, name: 'housekeeping' },
} as const satisfies Record<string, JobDefinition>;

/** A job kind as listed in {@link JOBS}. */
export type JobKind = (typeof JOBS)[keyof typeof JOBS];

/** Every job definition as a list. */
export const ALL_JOBS: readonly JobDefinition[] = Object.values(JOBS);

/** Every queue name as a list. */
export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);

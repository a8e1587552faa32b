import type { JobsOptions } from 'bullmq';

/** Payload of `expiry-sweep` and `housekeeping` jobs: none, the schedule is the trigger. */
export type MaintenanceJobData = Record<string, never>;

/**
 * Scheduler ids of the maintenance jobs. Deterministic on purpose: every
 * worker process calls `upsertJobScheduler` with the same id at boot, so
 * there is one scheduler (and one job per tick) however many workers run,
 * and a changed interval replaces the old one instead of adding another.
 */
export const MAINTENANCE_SCHEDULERS = {
  expirySweep: 'expiry-sweep',
  housekeeping: 'housekeeping',
} as const;

/** How often housekeeping runs (ms): pruning is not urgent, and each run is bounded. */
export const HOUSEKEEPING_INTERVAL_MS = 15 * 60_000;

/**
 * Options of maintenance jobs: a few retries with exponential backoff (the
 * next tick comes anyway); completed runs removed; failed ones kept a week,
 * at most 1,000, for inspection.
 */
export const MAINTENANCE_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
};

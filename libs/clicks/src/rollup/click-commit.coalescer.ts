import { Logger } from '@nestjs/common';
import { TracedJob, withJobSpan } from '@shortener/observability';
import type { ClickBatchInput, ClickRollupResult } from './click-rollup.service';

/** Most clicks committed in one transaction (one batch above it still commits alone). */
export const MAX_CLICKS_PER_COMMIT = 20_000;

/** How a {@link ClickCommitCoalescer} groups batches. */
export interface CoalescerOptions {
  /** Most clicks per transaction; a single bigger batch still commits alone. Default {@link MAX_CLICKS_PER_COMMIT}. */
  maxClicks?: number;
  /**
   * Least time between the starts of two transactions, in ms
   * (`CLICK_COMMIT_INTERVAL_MS`); batches arriving meanwhile wait and commit
   * together. Cut short when `maxClicks` clicks or `maxBatches` batches are
   * waiting. 0 starts the next transaction as soon as the previous one ends.
   * Default 0.
   */
  minIntervalMs?: number;
  /**
   * The most batches that can wait at once: BullMQ's concurrency of the
   * click queue (the jobs the worker holds). Once that many wait, no more
   * can arrive, so the interval is not waited out. Default: no limit.
   */
  maxBatches?: number;
}

/** Commits batches in one transaction, one result per input in input order (`ClickRollupService.commitBatches`). */
export type CommitBatches = (batches: readonly ClickBatchInput[]) => Promise<ClickRollupResult[]>;

/** The job that carries a batch, for the span of the transaction that commits it. */
export type BatchJob = Pick<TracedJob, 'queue' | 'name' | 'id'>;

interface Waiting {
  batch: ClickBatchInput;
  job: BatchJob;
  resolve: (result: ClickRollupResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of click batches: the batches handed in while a transaction
 * is running, or within `minIntervalMs` of the previous transaction's start,
 * wait and then all commit together in the next one (at most `maxClicks`
 * clicks). A batch that arrives after a quiet spell commits at once, so an
 * idle worker adds no delay; under load one transaction per interval commits
 * whatever arrived, and when the worker falls behind the transactions grow
 * with the backlog instead of queueing up. That keeps the PostgreSQL rows and
 * round trips per click low: a transaction writes a row per link, hour, day
 * and dimension value, whatever the number of clicks.
 *
 * At most one transaction runs at a time per process (concurrent ones would
 * only wait for each other's row locks on hot links). Exactly-once is the
 * rollup's: every batch id is recorded in the transaction that counts it.
 * When a transaction of several batches fails, each of its batches is tried
 * again alone at once, so that one bad batch (e.g. a link whose stored HLL
 * Redis refuses) fails only its own job.
 *
 * The batches a transaction can gather are the jobs the worker holds at
 * once: BullMQ's concurrency of the click queue (`WORKER_CONCURRENCY`).
 *
 * Each transaction runs in one `process clicks` span (see `withJobSpan`) that
 * links to the sampled redirects of all its batches; its pg and ioredis
 * calls are the span's children. The span names the job only when it
 * commits a single batch.
 */
export class ClickCommitCoalescer {
  private readonly logger = new Logger(ClickCommitCoalescer.name);
  private waiting: Waiting[] = [];
  private waitingClicks = 0;
  private running = false;
  private scheduled = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private wake?: () => void;
  private readonly maxClicks: number;
  private readonly minIntervalMs: number;
  private readonly maxBatches: number;

  /** @param commit one transaction for a list of batches. */
  constructor(
    private readonly commit: CommitBatches,
    options: CoalescerOptions = {},
  ) {
    this.maxClicks = options.maxClicks ?? MAX_CLICKS_PER_COMMIT;
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  }

  /** Batches waiting for the next transaction (not counting the one running). */
  get backlog(): number {
    return this.waiting.length;
  }

  /**
   * Commits a batch, together with whatever other batches are waiting.
   * @returns the batch's own result (`duplicate` when its id was recorded before).
   * @throws the error of its transaction when it failed alone too (the job is retried).
   */
  submit(batch: ClickBatchInput, job: BatchJob): Promise<ClickRollupResult> {
    return new Promise<ClickRollupResult>((resolve, reject) => {
      this.waiting.push({ batch, job, resolve, reject });
      this.waitingClicks += batch.clicks.length;
      if (this.full()) this.wake?.();
      // After the current turn of the event loop: jobs BullMQ hands over together join one transaction.
      if (!this.running && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          void this.pump();
        });
      }
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const wait = this.lastStart + this.minIntervalMs - Date.now();
        if (wait > 0 && !this.full()) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = undefined;
          continue;
        }
        this.lastStart = Date.now();
        let take = 0;
        let clicks = 0;
        while (take < this.waiting.length && (take === 0 || clicks + this.waiting[take].batch.clicks.length <= this.maxClicks)) {
          clicks += this.waiting[take].batch.clicks.length;
          take += 1;
        }
        const group = this.waiting.splice(0, take);
        this.waitingClicks -= clicks;
        await this.run(group, clicks);
      }
    } finally {
      this.running = false;
    }
  }

  /** Whether the next transaction is as big as it can get. */
  private full(): boolean {
    return this.waitingClicks >= this.maxClicks || this.waiting.length >= this.maxBatches;
  }

  /** Commits a group and settles every member; never throws. */
  private async run(group: Waiting[], clicks: number): Promise<void> {
    try {
      const results = await this.traced(group, clicks, () => this.commit(group.map((w) => w.batch)));
      group.forEach((w, i) => {
        w.resolve(results[i]);
      });
    } catch (error) {
      if (group.length === 1) {
        group[0].reject(error);
        return;
      }
      this.logger.warn(`a transaction of ${group.length} click batches failed (${(error as Error | null | undefined)?.message}); committing them one by one`);
      for (const w of group) {
        try {
          const [result] = await this.traced([w], w.batch.clicks.length, () => this.commit([w.batch]));
          w.resolve(result);
        } catch (e) {
          w.reject(e);
        }
      }
    }
  }

  private traced<T>(group: Waiting[], clicks: number, work: () => Promise<T>): Promise<T> {
    const { queue, name, id } = group[0].job;
    const job: TracedJob = { queue, name, messageCount: clicks, ...(group.length === 1 && id !== undefined ? { id } : {}) };
    return withJobSpan(job, traceparentsOf(group), work);
  }
}

function* traceparentsOf(group: readonly Waiting[]): Iterable<string | undefined> {
  for (const w of group) for (const c of w.batch.clicks) yield c.traceparent;
}

import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { ClickEvent, ClickRecorder } from '@shortener/links';
import { CounterChild, deferredCounterChild, LogSummary, MetricsService } from '@shortener/observability';
import { addQueuedClicks, CLICK_BATCH_JOB_OPTIONS, CLICK_BATCH_MAX_CLICKS, JOBS, oldestQueuedAt, readQueuedClicks, waitingAgeSeconds } from '@shortener/queue';
import { Queue } from 'bullmq';
import { ExponentialBackoff, IBackoff } from 'cockatiel';
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ClickSegment, encodeQueuedClick } from './click-segment';

/** Injection token of the API's producer queue for click batches (owned and closed by the recorder). */
export const CLICK_QUEUE = Symbol('CLICK_QUEUE');

/** Publishes at once at most; more waits in the buffer (bounded). */
const MAX_PUBLISHES_IN_FLIGHT = 4;
/** How often the queue depth is read from Redis (one cheap count, off the redirect path). */
export const QUEUE_DEPTH_REFRESH_MS = 1_000;
const WARN_INTERVAL_MS = 10_000;
/** First and longest wait (ms) between publish attempts while the queue Redis refuses them (exponential, jittered). */
export const PUBLISH_RETRY_INITIAL_MS = 100;
export const PUBLISH_RETRY_MAX_MS = 10_000;

/** A batch waiting to be published: its clicks' bytes, and the id it keeps across retries (BullMQ's job id). */
interface SealedBatch {
  segment: ClickSegment;
  batchId: string;
}

/**
 * The API's {@link ClickRecorder} (docs/design.md section 5): clicks go to an
 * in-process buffer and are published as `click-batch` BullMQ jobs, one job
 * per batch: when a batch reaches `CLICK_BATCH_SIZE` clicks (or its byte
 * cap), every `CLICK_FLUSH_INTERVAL_MS`, and on shutdown (after the HTTP
 * server has stopped taking requests). A buffered click is JSON text in a
 * reused Buffer ({@link ClickSegment}), not an object on the JS heap.
 *
 * A publish that fails keeps its batch, with the same batch id (so a publish
 * that did reach Redis is not added twice), and is retried with an
 * exponential, jittered backoff ({@link PUBLISH_RETRY_INITIAL_MS} to
 * {@link PUBLISH_RETRY_MAX_MS}, cockatiel's decorrelated jitter); meanwhile
 * clicks keep being buffered. The buffer is bounded: at most
 * `CLICK_BUFFER_MAX_CLICKS` clicks buffered or being published, in at most
 * ceil(`CLICK_BUFFER_MAX_CLICKS` / `CLICK_BATCH_SIZE`) + 1 segments of
 * 256 KiB (allocated as needed, kept for reuse). Clicks are dropped, and
 * counted in `shortener_clicks_dropped_total{reason}`, only beyond a bound:
 * `buffer_full` when the buffer is full, `queue_full` while the click queue
 * holds `CLICK_MAX_QUEUE_CLICKS` clicks or more (a cached count, refreshed
 * every second and raised by every publish), `shutdown` for what is still
 * buffered when the process stops and the queue Redis still refuses it.
 * `shortener_clicks_buffered` is what a `kill -9` would lose.
 * {@link record} never blocks and never throws.
 */
@Injectable()
export class QueuedClickRecorder extends ClickRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(QueuedClickRecorder.name);
  // The batch being filled, the full ones waiting for a publish, and empty ones to reuse.
  private current: ClickSegment;
  private sealed: SealedBatch[] = [];
  private readonly spare: ClickSegment[] = [];
  private segments = 1;
  private readonly maxSegments: number;
  private bufferedClicks = 0;
  private readonly inflight = new Set<Promise<void>>();
  private inflightClicks = 0;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly maxQueueClicks: number;
  private queueClicks = 0;
  private queueJobs = 0;
  private queueOldestAt: number | null = null;
  private readonly publishing = new Set<SealedBatch>();
  private refreshingDepth = false;
  private flushScheduled = false;
  private closed = false;
  private readonly warnings = new LogSummary(this.logger, 'click publish', WARN_INTERVAL_MS);
  private readonly backoffs = new ExponentialBackoff({ initialDelay: PUBLISH_RETRY_INITIAL_MS, maxDelay: PUBLISH_RETRY_MAX_MS });
  private backoff?: IBackoff<unknown>;
  private retryAt = 0;
  private retryTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private depthTimer?: NodeJS.Timeout;
  private readonly recorded: CounterChild;
  private readonly published;
  private readonly publishFailures;
  private readonly droppedQueueFull;
  private readonly droppedBufferFull;
  private readonly droppedShutdown;
  private readonly publishAfterTurn: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLICK_QUEUE) private readonly queue: Queue,
    metrics: MetricsService,
  ) {
    super();
    this.batchSize = config.clicks.batchSize;
    this.current = new ClickSegment(this.batchSize);
    this.maxBuffered = config.clicks.bufferMaxClicks;
    this.maxSegments = Math.ceil(this.maxBuffered / Math.min(this.batchSize, CLICK_BATCH_MAX_CLICKS)) + 1;
    this.maxQueueClicks = config.clicks.maxQueueClicks;
    this.recorded = deferredCounterChild(metrics.clicksRecorded, {});
    this.published = metrics.clicksPublished;
    this.publishFailures = metrics.clickPublishFailures;
    this.droppedQueueFull = metrics.clicksDropped.labels('queue_full');
    this.droppedBufferFull = metrics.clicksDropped.labels('buffer_full');
    this.droppedShutdown = metrics.clicksDropped.labels('shutdown');
    // Each reason's series exists from the start: increase() over a series born with its first drops sees none of them.
    for (const reason of [this.droppedQueueFull, this.droppedBufferFull, this.droppedShutdown]) reason.inc(0);
    // Read at each scrape: the clicks a kill -9 would lose, and the queue as this process last read it.
    metrics.onCollect(() => {
      metrics.clicksBuffered.set(this.pending);
      metrics.clickQueueDepthClicks.set(this.queueClicks);
      metrics.queueJobs.set({ queue: this.queue.name, state: 'waiting' }, this.queueJobs);
      metrics.clickOldestWaiting.set(waitingAgeSeconds(Math.min(this.oldestBufferedAt(), this.queueOldestAt ?? Infinity)));
    });
    // Bound to the recorder's own async context (the process's root): scheduled from the redirect
    // that filled a batch, the publish would otherwise run in that redirect's context, so a sampled
    // redirect's trace got the publish's Redis spans, and so did every publish chained after it.
    this.publishAfterTurn = AsyncResource.bind(() => {
      this.flushScheduled = false;
      void this.publishSealed();
    });
  }

  onModuleInit(): void {
    this.flushTimer = setInterval(() => void this.flush(), this.config.clicks.flushIntervalMs);
    this.depthTimer = setInterval(() => void this.refreshDepth(), QUEUE_DEPTH_REFRESH_MS);
    // Timers never keep the process alive on their own.
    this.flushTimer.unref();
    this.depthTimer.unref();
    void this.refreshDepth();
  }

  /** Buffers one click, or drops and counts it. O(1); never blocks, never throws. */
  record(click: ClickEvent): void {
    try {
      if (this.closed) {
        this.droppedShutdown.inc();
        return;
      }
      if (this.queueClicks >= this.maxQueueClicks) {
        this.droppedQueueFull.inc();
        return;
      }
      if (this.pending >= this.maxBuffered) {
        this.droppedBufferFull.inc();
        return;
      }
      const json = encodeQueuedClick(click);
      if (!this.current.append(json, click.at)) {
        if (!this.seal()) {
          this.droppedBufferFull.inc();
          return;
        }
        this.current.append(json, click.at);
      }
      this.bufferedClicks++;
      this.recorded.inc();
      if (this.current.full) this.seal();
      if (this.sealed.length > 0 && !this.flushScheduled) {
        this.flushScheduled = true;
        // After the current response: publishing is never part of a redirect.
        setImmediate(this.publishAfterTurn);
      }
    } catch {
      // A click is worth less than a redirect.
    }
  }

  /** Clicks buffered or being published right now: what a `kill -9` would lose. */
  get pending(): number {
    return this.bufferedClicks + this.inflightClicks;
  }

  /** The earliest time (epoch ms) of a click buffered or being published here; Infinity when none. */
  oldestBufferedAt(): number {
    let oldest = this.current.count > 0 ? this.current.oldestAt : Infinity;
    for (const b of this.sealed) oldest = Math.min(oldest, b.segment.oldestAt);
    for (const b of this.publishing) oldest = Math.min(oldest, b.segment.oldestAt);
    return oldest;
  }

  /** The click queue's depth in clicks as this process last read or raised it. */
  get queueDepthClicks(): number {
    return this.queueClicks;
  }

  /**
   * Starts publishing what is buffered, as far as the in-flight limit and
   * the retry backoff allow; resolves when the publishes started by this
   * call settle. Never rejects. The batch being filled goes too when nothing
   * waits ahead of it; otherwise it keeps filling (sealed part-filled while
   * publishes fail, each timer tick would take a segment for a few clicks,
   * and the buffer would drop clicks long before `CLICK_BUFFER_MAX_CLICKS`).
   */
  flush(): Promise<void> {
    if (this.current.count > 0 && this.sealed.length === 0 && this.retryAt <= Date.now()) this.seal();
    return this.publishSealed();
  }

  /** Starts publishing the full batches, as far as the in-flight limit and the retry backoff allow. */
  private publishSealed(): Promise<void> {
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      if (!this.retryTimer && !this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.publishSealed();
        }, wait);
        this.retryTimer.unref();
      }
      return Promise.resolve();
    }
    const started: Promise<void>[] = [];
    while (this.sealed.length > 0 && this.inflight.size < MAX_PUBLISHES_IN_FLIGHT) {
      const batch = this.sealed.shift()!;
      const clicks = batch.segment.count;
      this.bufferedClicks -= clicks;
      this.inflightClicks += clicks;
      this.publishing.add(batch);
      const publish: Promise<void> = this.publish(batch).finally(() => {
        this.inflight.delete(publish);
        // A slot is free: full batches waiting for one go now, not at the next redirect.
        if (this.sealed.length > 0 && !this.closed) void this.publishSealed();
      });
      this.inflight.add(publish);
      started.push(publish);
    }
    return Promise.all(started).then(() => undefined);
  }

  /** Moves the batch being filled to the sealed ones. @returns false, changing nothing, when no segment is left for a new batch. */
  private seal(): boolean {
    let next = this.spare.pop();
    if (!next) {
      if (this.segments >= this.maxSegments) return false;
      next = new ClickSegment(this.batchSize);
      this.segments += 1;
    }
    this.sealed.push({ segment: this.current, batchId: randomUUID() });
    this.current = next;
    return true;
  }

  /**
   * Publishes until nothing is buffered or in flight, or the deadline passes.
   * Retries wait for their backoff.
   * @returns whether everything was handed to Redis.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      void this.flush();
      if (this.pending === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const pause = Math.min(left, Math.max(10, this.retryAt - Date.now()));
      await Promise.race([
        this.inflight.size > 0 ? Promise.allSettled([...this.inflight]) : new Promise((r) => setTimeout(r, pause)),
        new Promise((r) => (timer = setTimeout(r, left))),
      ]);
      clearTimeout(timer);
    }
  }

  /** Publishes the buffer before the queue connection closes (the HTTP server is closed by then). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.depthTimer);
    // The last attempts do not wait for a long backoff: the process is going.
    this.retryAt = 0;
    const drained = await this.drain(Math.max(1_000, Math.floor(this.config.shutdownTimeoutMs / 2)));
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (!drained) {
      this.logger.warn(`shutdown: ${this.pending} clicks not published`);
      this.droppedShutdown.inc(this.pending);
      this.sealed = [];
      this.bufferedClicks = 0;
    }
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.queue.close().then(() => true),
      new Promise<boolean>(
        (r) =>
          (timer = setTimeout(() => {
            r(false);
          }, 2_000)),
      ),
    ]);
    clearTimeout(timer);
    if (!closed) await this.queue.disconnect().catch(() => undefined);
  }

  /** Publishes one batch; its clicks stop counting as in flight when it settles (published, or back in the buffer). */
  private async publish(batch: SealedBatch): Promise<void> {
    const { segment, batchId } = batch;
    const clicks = segment.count;
    try {
      const data = segment.payload(batchId);
      await this.queue.add(JOBS.clickBatch.name, data, { ...CLICK_BATCH_JOB_OPTIONS, jobId: batchId });
    } catch (e) {
      this.publishing.delete(batch);
      this.inflightClicks -= clicks;
      // Kept, with its id, at the head of the line: retried first, after the backoff.
      this.sealed.unshift(batch);
      this.bufferedClicks += clicks;
      this.publishFailures.inc();
      this.backoff = this.backoff ? this.backoff.next(undefined) : this.backoffs.next();
      this.retryAt = Date.now() + this.backoff.duration;
      this.warnings.add(
        `failed, ${this.pending} clicks buffered (at most ${this.maxBuffered}), retrying in ${Math.round(this.backoff.duration)} ms: ${(e as Error).message}`,
      );
      return;
    }
    this.publishing.delete(batch);
    this.inflightClicks -= clicks;
    this.backoff = undefined;
    this.retryAt = 0;
    segment.clear();
    this.spare.push(segment);
    this.published.inc(clicks);
    this.queueClicks += clicks;
    this.queueJobs += 1;
    await addQueuedClicks(this.queue, clicks).catch((e: unknown) => {
      this.warnings.add(`the click queue counter was not raised by ${clicks}: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  private async refreshDepth(): Promise<void> {
    if (this.refreshingDepth) return;
    this.refreshingDepth = true;
    try {
      [this.queueJobs, this.queueClicks, this.queueOldestAt] = await Promise.all([
        this.queue.getWaitingCount(),
        readQueuedClicks(this.queue),
        oldestQueuedAt(this.queue),
      ]);
    } catch {
      // Keep the last known depth; publishes fail (and are retried) while Redis is away.
    } finally {
      this.refreshingDepth = false;
    }
  }
}

import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { ClickEvent, ClickRecorder } from '@shortener/links';
import { CounterChild, deferredCounterChild, MetricsService } from '@shortener/observability';
import { CLICK_BATCH_JOB_OPTIONS, ClickBatchJobData, JOBS } from '@shortener/queue';
import { Queue } from 'bullmq';
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ClickSegment, encodeQueuedClick } from './click-segment';

/** Injection token of the API's producer queue for click batches (owned and closed by the recorder). */
export const CLICK_QUEUE = Symbol('CLICK_QUEUE');

/** Publishes at once at most; more waits in the buffer (bounded). */
const MAX_PUBLISHES_IN_FLIGHT = 4;
/** How often the queue depth is read from Redis (one cheap count, off the redirect path). */
export const QUEUE_DEPTH_REFRESH_MS = 1_000;
/** A full buffer holds this many full batches waiting to be published, besides the one being filled. */
const BUFFER_BATCHES = 4;
const WARN_INTERVAL_MS = 10_000;

/**
 * The API's {@link ClickRecorder} (DESIGN.md section 5): clicks go to an
 * in-process buffer and are published as `click-batch` BullMQ jobs, one job
 * per batch: when a batch reaches `CLICK_BATCH_SIZE` clicks (or its byte
 * cap), every `CLICK_FLUSH_INTERVAL_MS`, and on shutdown (after the HTTP
 * server has stopped taking requests). A buffered click is JSON text in a
 * reused Buffer ({@link ClickSegment}), not an object on the JS heap.
 *
 * Memory is bounded: the buffer holds the batch being filled and at most 4
 * full ones (five Buffers of 256 KiB, allocated once), and at most 4
 * publishes are in flight. Clicks are dropped, and counted in
 * `shortener_clicks_dropped_total{reason}`, instead of growing it:
 * `queue_full` while the click queue has `CLICK_MAX_QUEUE_DEPTH` or more
 * waiting jobs (a cached count, refreshed every second and raised by every
 * publish), `buffer_full` while Redis is too slow to keep up, and
 * `publish_failed` when Redis refuses a publish. {@link record} never blocks
 * and never throws.
 */
@Injectable()
export class QueuedClickRecorder extends ClickRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(QueuedClickRecorder.name);
  // The batch being filled, the full ones waiting for a publish slot, and empty ones to reuse.
  private current: ClickSegment;
  private sealed: ClickSegment[] = [];
  private readonly spare: ClickSegment[] = [];
  private bufferedClicks = 0;
  private readonly inflight = new Set<Promise<void>>();
  private inflightClicks = 0;
  private readonly batchSize: number;
  private readonly maxDepth: number;
  private depth = 0;
  private refreshingDepth = false;
  private flushScheduled = false;
  private closed = false;
  private lastWarnAt = 0;
  private flushTimer?: NodeJS.Timeout;
  private depthTimer?: NodeJS.Timeout;
  private readonly buffered: CounterChild;
  private readonly published;
  private readonly droppedQueueFull;
  private readonly droppedBufferFull;
  private readonly droppedPublishFailed;
  private readonly publishAfterTurn: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLICK_QUEUE) private readonly queue: Queue,
    metrics: MetricsService,
  ) {
    super();
    this.batchSize = config.clicks.batchSize;
    this.current = new ClickSegment(this.batchSize);
    this.maxDepth = config.clicks.maxQueueDepth;
    this.buffered = deferredCounterChild(metrics.clicksBuffered, {});
    this.published = metrics.clicksPublished;
    this.droppedQueueFull = metrics.clicksDropped.labels('queue_full');
    this.droppedBufferFull = metrics.clicksDropped.labels('buffer_full');
    this.droppedPublishFailed = metrics.clicksDropped.labels('publish_failed');
    // Bound to the recorder's own async context (the process's root): scheduled from the redirect
    // that filled a batch, the publish would otherwise run in that redirect's context, so a sampled
    // redirect's trace got the publish's Redis spans, and so did every publish chained after it.
    this.publishAfterTurn = AsyncResource.bind(() => {
      this.flushScheduled = false;
      this.publishSealed();
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
      if (this.closed) return this.droppedPublishFailed.inc();
      if (this.depth >= this.maxDepth) return this.droppedQueueFull.inc();
      const json = encodeQueuedClick(click);
      if (!this.current.append(json)) {
        if (this.sealed.length >= BUFFER_BATCHES) return this.droppedBufferFull.inc();
        this.seal();
        this.current.append(json);
      }
      this.bufferedClicks++;
      this.buffered.inc();
      if (this.current.full && this.sealed.length < BUFFER_BATCHES) this.seal();
      if (this.sealed.length > 0 && !this.flushScheduled) {
        this.flushScheduled = true;
        // After the current response: publishing is never part of a redirect.
        setImmediate(this.publishAfterTurn);
      }
    } catch {
      // A click is worth less than a redirect.
    }
  }

  /** Clicks buffered or being published right now (e.g. for tests draining the pipeline). */
  get pending(): number {
    return this.bufferedClicks + this.inflightClicks;
  }

  /** The queue depth the recorder currently believes (waiting jobs). */
  get queueDepth(): number {
    return this.depth;
  }

  /**
   * Starts publishing what is buffered, the batch being filled included, as
   * far as the in-flight limit allows; resolves when the publishes started
   * by this call settle. Never rejects.
   */
  flush(): Promise<void> {
    if (this.current.count > 0 && this.sealed.length < BUFFER_BATCHES) this.seal();
    return this.publishSealed();
  }

  /** Starts publishing the full batches, as far as the in-flight limit allows. */
  private publishSealed(): Promise<void> {
    const started: Promise<void>[] = [];
    while (this.sealed.length > 0 && this.inflight.size < MAX_PUBLISHES_IN_FLIGHT) {
      const segment = this.sealed.shift() as ClickSegment;
      const clicks = segment.count;
      const data = segment.take(randomUUID());
      this.spare.push(segment);
      this.bufferedClicks -= clicks;
      this.inflightClicks += clicks;
      const publish: Promise<void> = this.publish(data).finally(() => {
        this.inflightClicks -= clicks;
        this.inflight.delete(publish);
        // A slot is free: full batches waiting for one go now, not at the next redirect.
        if (this.sealed.length > 0 && !this.closed) void this.publishSealed();
      });
      this.inflight.add(publish);
      started.push(publish);
    }
    return Promise.all(started).then(() => undefined);
  }

  private seal(): void {
    this.sealed.push(this.current);
    this.current = this.spare.pop() ?? new ClickSegment(this.batchSize);
  }

  /**
   * Publishes until nothing is buffered or in flight, or the deadline passes.
   * @returns whether everything was handed to Redis (published or counted as dropped).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      void this.flush();
      if (this.pending === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  /** Publishes the buffer before the queue connection closes (the HTTP server is closed by then). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.depthTimer);
    const drained = await this.drain(Math.max(1_000, Math.floor(this.config.shutdownTimeoutMs / 2)));
    this.closed = true;
    if (!drained) {
      this.logger.warn(`shutdown: ${this.bufferedClicks} clicks not published`);
      this.droppedPublishFailed.inc(this.bufferedClicks);
      this.sealed = [];
      this.bufferedClicks = 0;
    }
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([this.queue.close().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2_000)))]);
    clearTimeout(timer);
    if (!closed) await this.queue.disconnect().catch(() => undefined);
  }

  private async publish(data: ClickBatchJobData): Promise<void> {
    const clicks = data.clicks.length;
    try {
      await this.queue.add(JOBS.clickBatch.name, data, { ...CLICK_BATCH_JOB_OPTIONS, jobId: data.batchId });
      this.published.inc(clicks);
      this.depth += 1;
    } catch (e) {
      this.droppedPublishFailed.inc(clicks);
      this.warn(`click publish failed, ${clicks} clicks dropped: ${(e as Error).message}`);
    }
  }

  private async refreshDepth(): Promise<void> {
    if (this.refreshingDepth) return;
    this.refreshingDepth = true;
    try {
      this.depth = await this.queue.getWaitingCount();
    } catch {
      // Keep the last known depth; publishes fail (and are counted) while Redis is away.
    } finally {
      this.refreshingDepth = false;
    }
  }

  private warn(message: string): void {
    if (Date.now() - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = Date.now();
    this.logger.warn(message);
  }
}

import { outsideRequestDeadline } from '../deadline/request-deadline';

/** The outcome of one item of a batch: its value, or the error that failed it alone. */
export type BatchOutcome<O> = { value: O } | { error: unknown };

/** Runs one batch; resolves to one outcome per item, in order. A rejection fails every item of the batch. */
export type RunBatch<I, O> = (items: I[]) => Promise<BatchOutcome<O>[]>;

/** Options of a {@link Batcher}. */
export interface BatcherOptions<I> {
  /** Most items one batch carries (at least 1). */
  maxBatch: number;
  /** Most batches running at once (at least 1); while that many run, new items wait and join the next batch. */
  maxInFlight: number;
  /**
   * Items with equal keys never share a batch nor run at once: the later one
   * waits until the earlier one's batch has finished (e.g. two creates of one
   * alias: each gets its own answer, first come first served).
   */
  keyOf?: (item: I) => string;
  /**
   * Most items waiting for a batch (unbounded when absent). One more is
   * refused at once with {@link BatchQueueFullError}: a bulkhead that fails
   * fast instead of letting callers pile up behind a stalled dependency.
   */
  maxQueued?: number;
}

/** An item refused because {@link BatcherOptions.maxQueued} items were already waiting. */
export class BatchQueueFullError extends Error {
  constructor(readonly maxQueued: number) {
    super(`${maxQueued} items are already waiting for a batch`);
    this.name = 'BatchQueueFullError';
  }
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups the items submitted during one turn of the event loop into batches
 * (application-level group commit): items wait until the check phase
 * (`setImmediate`), so every request read in the same poll phase joins, and
 * while `maxInFlight` batches are running, new items queue for the next one,
 * so batches grow with the load and shrink to one item when idle (a lone item
 * waits for nothing but the rest of its loop turn).
 */
export class Batcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private readonly keysInFlight = new Set<string>();
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: RunBatch<I, O>,
    private readonly options: BatcherOptions<I>,
  ) {
    for (const name of ['maxBatch', 'maxInFlight', 'maxQueued'] as const) {
      const value = options[name];
      if (name === 'maxQueued' && value === undefined) continue;
      if (!Number.isInteger(value) || value! < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /** Batches running now. */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Queues an item for the next batch.
   * @returns its value; rejects with its own error, or the batch's when the
   *   whole batch failed, or at once with {@link BatchQueueFullError}.
   */
  submit(item: I): Promise<O> {
    const { maxQueued } = this.options;
    if (maxQueued !== undefined && this.queue.length >= maxQueued) return Promise.reject(new BatchQueueFullError(maxQueued));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    // A batch serves several requests: no one request's deadline may cancel it.
    outsideRequestDeadline(() =>
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      }),
    );
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.take();
      // Everything queued waits for a key that is running.
      if (batch.length === 0) return;
      this.inFlight += 1;
      void this.execute(batch);
    }
  }

  /**
   * The next batch from the front of the queue: up to maxBatch items whose
   * keys are neither in the batch nor running; queue order kept for the rest.
   */
  private take(): Waiting<I, O>[] {
    const { maxBatch, keyOf } = this.options;
    if (!keyOf) return this.queue.splice(0, maxBatch);
    const batch: Waiting<I, O>[] = [];
    const rest: Waiting<I, O>[] = [];
    const blocked = new Set<string>();
    for (const waiting of this.queue) {
      const key = keyOf(waiting.item);
      if (batch.length < maxBatch && !this.keysInFlight.has(key) && !blocked.has(key)) {
        this.keysInFlight.add(key);
        batch.push(waiting);
      } else {
        // A later item of the same key stays behind this one.
        blocked.add(key);
        rest.push(waiting);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async execute(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outcomes = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        const outcome = outcomes.at(i);
        if (outcome === undefined) w.reject(new Error('the batch returned no outcome for this item'));
        else if ('error' in outcome) w.reject(outcome.error);
        else w.resolve(outcome.value);
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.inFlight -= 1;
      const { keyOf } = this.options;
      if (keyOf) for (const w of batch) this.keysInFlight.delete(keyOf(w.item));
      this.schedule();
    }
  }
}

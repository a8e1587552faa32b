import { BatchOutcome, BatchQueueFullError, Batcher } from './batcher';

const tick = () => new Promise((r) => setImmediate(r));

/** A batch runner that records its batches and answers when told to (the real one is PostgreSQL, tested end to end). */
function recorder<O>(answer: (item: string) => BatchOutcome<O>) {
  const batches: string[][] = [];
  const pending: (() => void)[] = [];
  const run = (items: string[]) =>
    new Promise<BatchOutcome<O>[]>((resolve) => {
      batches.push(items);
      pending.push(() => {
        resolve(items.map(answer));
      });
    });
  /** Answers the oldest running batch, and lets the batcher start the next one (scheduled for the turn after). */
  const release = async () => {
    pending.shift()?.();
    await tick();
    await tick();
  };
  return { run, batches, release, running: () => pending.length };
}

describe(Batcher.name, () => {
  it('sends the items of one loop turn as one batch and answers each with its own value', async () => {
    const r = recorder((item) => ({ value: item.toUpperCase() }));
    const batcher = new Batcher(r.run, { maxBatch: 10, maxInFlight: 2 });
    const results = ['a', 'b', 'c'].map((i) => batcher.submit(i));
    await tick();
    await r.release();
    expect({ values: await Promise.all(results), batches: r.batches }).toEqual({ values: ['A', 'B', 'C'], batches: [['a', 'b', 'c']] });
  });

  it('splits at maxBatch, runs at most maxInFlight batches, and queues the rest into the next batch', async () => {
    const r = recorder((item) => ({ value: item }));
    const batcher = new Batcher(r.run, { maxBatch: 2, maxInFlight: 2 });
    const first = ['a', 'b', 'c', 'd', 'e'].map((i) => batcher.submit(i));
    await tick();
    expect({ batches: r.batches, running: batcher.running }).toEqual({
      batches: [
        ['a', 'b'],
        ['c', 'd'],
      ],
      running: 2,
    });
    const later = ['f', 'g'].map((i) => batcher.submit(i));
    await tick();
    expect(r.batches).toHaveLength(2);
    await r.release();
    expect(r.batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    await r.release();
    expect(r.batches).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f'], ['g']]);
    await r.release();
    await r.release();
    expect(await Promise.all([...first, ...later])).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(batcher.running).toBe(0);
  });

  it('refuses an item at once with BatchQueueFullError while maxQueued items wait, and takes items again once they run', async () => {
    const r = recorder((item) => ({ value: item }));
    const batcher = new Batcher(r.run, { maxBatch: 1, maxInFlight: 1, maxQueued: 2 });
    const first = batcher.submit('a');
    await tick();
    const queued = ['b', 'c'].map((i) => batcher.submit(i));
    await expect(batcher.submit('d')).rejects.toEqual(new BatchQueueFullError(2));
    await expect(batcher.submit('d')).rejects.toThrow('2 items are already waiting for a batch');
    await r.release();
    // 'b' runs: one waits, so there is room again.
    const later = batcher.submit('e');
    for (let i = 0; i < 3; i += 1) await r.release();
    expect(await Promise.all([first, ...queued, later])).toEqual(['a', 'b', 'c', 'e']);
    expect(() => new Batcher(r.run, { maxBatch: 1, maxInFlight: 1, maxQueued: 0 })).toThrow('maxQueued must be a positive integer, got 0');
  });

  it('never puts two items with one key in a batch: the later one waits for the next', async () => {
    const r = recorder((item) => ({ value: item }));
    const batcher = new Batcher(r.run, { maxBatch: 10, maxInFlight: 1, keyOf: (i: string) => i[0] });
    const results = ['x1', 'y1', 'x2', 'z1', 'x3'].map((i) => batcher.submit(i));
    await tick();
    await r.release();
    await r.release();
    await r.release();
    expect(r.batches).toEqual([['x1', 'y1', 'z1'], ['x2'], ['x3']]);
    expect(await Promise.all(results)).toEqual(['x1', 'y1', 'x2', 'z1', 'x3']);
  });

  it('runs no item while another of its key is running, even with room for more batches', async () => {
    const r = recorder((item) => ({ value: item }));
    const batcher = new Batcher(r.run, { maxBatch: 10, maxInFlight: 4, keyOf: (i: string) => i[0] });
    const first = ['x1', 'y1'].map((i) => batcher.submit(i));
    await tick();
    const later = ['x2', 'z1', 'y2'].map((i) => batcher.submit(i));
    await tick();
    expect(r.batches).toEqual([['x1', 'y1'], ['z1']]);
    await r.release();
    expect(r.batches).toEqual([['x1', 'y1'], ['z1'], ['x2', 'y2']]);
    await r.release();
    await r.release();
    expect(await Promise.all([...first, ...later])).toEqual(['x1', 'y1', 'x2', 'z1', 'y2']);
  });

  it("fails only an item's own promise for its own error, and every item's when the batch fails", async () => {
    const r = recorder((item) => (item === 'bad' ? { error: new Error('refused bad') } : { value: item }));
    const batcher = new Batcher(r.run, { maxBatch: 10, maxInFlight: 1 });
    const outcomes = Promise.allSettled(['ok', 'bad'].map((i) => batcher.submit(i)));
    await tick();
    await r.release();
    expect((await outcomes).map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual(['ok', 'refused bad']);

    const failing = new Batcher<string, string>(() => Promise.reject(new Error('connection lost')), { maxBatch: 10, maxInFlight: 1 });
    const all = await Promise.allSettled(['a', 'b'].map((i) => failing.submit(i)));
    expect(all.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value))).toEqual(['connection lost', 'connection lost']);
    expect(await failing.submit('c').catch((e: Error) => e.message)).toBe('connection lost');
    expect(failing.running).toBe(0);
  });

  it('refuses a maxBatch or maxInFlight below 1', () => {
    expect(() => new Batcher(async () => [], { maxBatch: 0, maxInFlight: 1 })).toThrow(RangeError);
    expect(() => new Batcher(async () => [], { maxBatch: 1, maxInFlight: 0 })).toThrow(RangeError);
  });
});

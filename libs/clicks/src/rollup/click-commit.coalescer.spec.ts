import type { QueuedClick } from '@shortener/queue';
import { ClickCommitCoalescer } from './click-commit.coalescer';
import type { ClickBatchInput, ClickRollupResult } from './click-rollup.service';

const JOB = { queue: 'clicks', name: 'click-batch' };
const batch = (batchId: string, clicks: number): ClickBatchInput => ({
  batchId,
  clicks: Array.from({ length: clicks }, (_, i): QueuedClick => ({ linkId: '1', at: i, referrerHost: null, userAgent: null, visitorHash: 'v', country: null })),
});

/**
 * An in-memory commit function: records the batch ids of each transaction,
 * holds each transaction until the test releases it, and fails every
 * transaction that contains a batch id listed in `poison`.
 */
function recorder(poison: string[] = []) {
  const transactions: string[][] = [];
  const held: (() => void)[] = [];
  const commit = async (batches: readonly ClickBatchInput[]): Promise<ClickRollupResult[]> => {
    const ids = batches.map((b) => b.batchId);
    transactions.push(ids);
    await new Promise<void>((release) => held.push(release));
    if (ids.some((id) => poison.includes(id))) throw new Error(`poisoned ${ids.join(',')}`);
    return batches.map((b) => ({ batchId: b.batchId, duplicate: false, committed: b.clicks.length }));
  };
  /** Releases the transactions started so far, once they have started. */
  const releaseAll = async () => {
    await new Promise((r) => setImmediate(r));
    while (held.length > 0) held.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { commit, transactions, releaseAll };
}

describe(ClickCommitCoalescer.name, () => {
  it('commits a batch alone when nothing runs, and the batches that arrive meanwhile together in the next transaction', async () => {
    const r = recorder();
    const sut = new ClickCommitCoalescer(r.commit);
    const first = sut.submit(batch('a', 2), JOB);
    await r.releaseAll();
    await first;
    // 'a' is committed; now 'b' starts alone, and 'c', 'd' arrive while it runs.
    const b = sut.submit(batch('b', 1), JOB);
    await new Promise((res) => setImmediate(res));
    const c = sut.submit(batch('c', 3), JOB);
    const d = sut.submit(batch('d', 4), JOB);
    expect(sut.backlog).toBe(2);
    await r.releaseAll();
    await r.releaseAll();
    expect(await Promise.all([first, b, c, d])).toEqual([
      { batchId: 'a', duplicate: false, committed: 2 },
      { batchId: 'b', duplicate: false, committed: 1 },
      { batchId: 'c', duplicate: false, committed: 3 },
      { batchId: 'd', duplicate: false, committed: 4 },
    ]);
    expect(r.transactions).toEqual([['a'], ['b'], ['c', 'd']]);
  });

  it('joins batches handed over in the same turn of the event loop', async () => {
    const r = recorder();
    const sut = new ClickCommitCoalescer(r.commit);
    const all = Promise.all(['a', 'b', 'c'].map((id) => sut.submit(batch(id, 1), JOB)));
    await r.releaseAll();
    await all;
    expect(r.transactions).toEqual([['a', 'b', 'c']]);
  });

  it('keeps a transaction within maxClicks, except for a single bigger batch', async () => {
    const r = recorder();
    const sut = new ClickCommitCoalescer(r.commit, { maxClicks: 5 });
    const all = Promise.all([batch('a', 2), batch('b', 3), batch('c', 1), batch('d', 9), batch('e', 1)].map((b) => sut.submit(b, JOB)));
    for (let i = 0; i < 4; i++) await r.releaseAll();
    await all;
    expect(r.transactions).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
  });

  it('retries the batches of a failed transaction one by one, so only the bad one fails', async () => {
    const r = recorder(['bad']);
    const sut = new ClickCommitCoalescer(r.commit);
    const outcomes = ['a', 'bad', 'c'].map((id) =>
      sut.submit(batch(id, 1), JOB).then(
        (result) => result.batchId,
        (error: Error) => `failed: ${error.message}`,
      ),
    );
    for (let i = 0; i < 4; i++) await r.releaseAll();
    expect(await Promise.all(outcomes)).toEqual(['a', 'failed: poisoned bad', 'c']);
    expect(r.transactions).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('rejects a batch that failed alone with its error', async () => {
    const r = recorder(['bad']);
    const sut = new ClickCommitCoalescer(r.commit);
    const outcome = sut.submit(batch('bad', 1), JOB).catch((e: Error) => e.message);
    await r.releaseAll();
    expect(await outcome).toBe('poisoned bad');
    expect(r.transactions).toEqual([['bad']]);
  });

  it('commits the first batch after a quiet spell at once, then waits out minIntervalMs unless maxBatches batches wait', async () => {
    const r = recorder();
    const sut = new ClickCommitCoalescer(r.commit, { minIntervalMs: 60_000, maxBatches: 3 });
    const first = sut.submit(batch('a', 1), JOB);
    await r.releaseAll();
    await first;
    const later = [sut.submit(batch('b', 1), JOB), sut.submit(batch('c', 1), JOB)];
    for (let i = 0; i < 3; i++) await r.releaseAll();
    // Within the interval and below maxBatches: nothing starts.
    expect({ transactions: r.transactions, backlog: sut.backlog }).toEqual({ transactions: [['a']], backlog: 2 });
    later.push(sut.submit(batch('d', 1), JOB));
    await r.releaseAll();
    await r.releaseAll();
    expect((await Promise.all(later)).map((x) => x.batchId)).toEqual(['b', 'c', 'd']);
    expect(r.transactions).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('does not wait out minIntervalMs once maxClicks clicks wait', async () => {
    const r = recorder();
    const sut = new ClickCommitCoalescer(r.commit, { minIntervalMs: 60_000, maxClicks: 4 });
    const first = sut.submit(batch('a', 1), JOB);
    await r.releaseAll();
    await first;
    const later = [sut.submit(batch('b', 3), JOB)];
    await r.releaseAll();
    expect(sut.backlog).toBe(1);
    later.push(sut.submit(batch('c', 1), JOB));
    await r.releaseAll();
    await r.releaseAll();
    await Promise.all(later);
    expect(r.transactions).toEqual([['a'], ['b', 'c']]);
  });
});

import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { readFileSync } from 'node:fs';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { OwnedRedis, startOwnedRedis } from '../support/engines';
import { waitUntil } from '../support/wait';
import { runId, workerId } from '../support/test-env';

jest.setTimeout(90_000);

/** CPU time (user + system) of a process so far, in clock ticks (1/100 s on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Drill: the queue Redis of a running worker fills up (maxmemory below use,
 * noeviction) while click batches are due. BullMQ retries a refused command
 * at once; the worker must back off instead of spinning, log a summary
 * instead of a line per failure, and take the jobs once Redis takes writes.
 */
describe('the worker against a queue Redis out of memory', () => {
  let redis: OwnedRedis;
  let worker: CompiledApp;
  let queue: Queue;
  beforeAll(async () => {
    redis = await startOwnedRedis();
    const prefix = `{test-${runId()}-w${workerId()}-full}`;
    worker = await startCompiledApp('worker', { REDIS_CACHE_URL: redis.url, REDIS_QUEUE_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' });
    queue = new Queue('clicks', { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix });
  }, 60_000);
  afterAll(async () => {
    await queue?.close();
    await worker?.stop();
    await redis?.stop();
  });

  it('backs off (under 20% of a core, was 40%), logs a summary, and commits every batch once Redis takes writes', async () => {
    // Due in 1.5 s: the worker meets them with Redis already full.
    for (let i = 0; i < 20; i += 1) await queue.add('click-batch', { v: 1, batchId: `full-${i}`, clicks: [] }, { jobId: `full-${i}`, delay: 1_500 });
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const linesBefore = worker.logLines().length;
      const ticksBefore = cpuTicks(worker.child.pid!);
      await new Promise((r) => setTimeout(r, 6_000));
      const ticks = cpuTicks(worker.child.pid!) - ticksBefore;
      const lines = worker
        .logLines()
        .slice(linesBefore)
        .map((l) => String(l.msg));
      console.log(`6 s with a full Redis: ${ticks} CPU ticks, ${lines.length} log lines: ${JSON.stringify(lines)}`);
      expect(ticks).toBeLessThan(0.2 * 600);
      expect(lines.filter((l) => l.startsWith('worker error')).length).toBeGreaterThanOrEqual(1);
      // One line per kind of warning per 10 s: the worker's errors, and the click queue counter's.
      expect(lines.length).toBeLessThanOrEqual(4);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    // The longest pause is 10 s: every batch is taken within 5x that.
    await waitUntil(
      'every batch to leave the queue',
      async () => {
        const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      { timeoutMs: 50_000 },
    );
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
  });
});

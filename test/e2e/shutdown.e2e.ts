import { loadConfig } from '@shortener/config';
import { createQueue, QUEUES } from '@shortener/queue';
import { Agent, request } from 'node:http';
import { CompiledApp, READY_TIMEOUT_MS, startCompiledApp } from '../support/compiled-app';
import { waitUntil } from '../support/wait';
import { runId, TEST_ADMIN_KEY, testEnv, workerId } from '../support/test-env';

/**
 * Graceful shutdown (docs/design.md section 7): SIGTERM while redirects keep
 * coming loses no request and no click. The compiled API runs as a child
 * process; keep-alive clients hammer one link until the server stops
 * accepting connections.
 */

type Outcome = { kind: 'response'; status: number; connection: string | undefined } | { kind: 'refused' } | { kind: 'lost'; error: string };

function get(agent: Agent, url: URL): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve({ kind: 'response', status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      res.on('error', (e) => {
        resolve({ kind: 'lost', error: e.message });
      });
    });
    // Refused at connect: the server no longer accepts connections, so the
    // request never reached it (a load balancer sends it to another pod).
    req.on('error', (e: NodeJS.ErrnoException) => {
      resolve(e.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'lost', error: `${e.code}: ${e.message}` });
    });
    req.end();
  });
}

describe('graceful shutdown of the API (compiled, SIGTERM under load)', () => {
  // Own queue and key prefixes: the queue holds exactly this test's clicks.
  const prefixes = { QUEUE_PREFIX: `{test-${runId()}-w${workerId()}-shutdown}`, REDIS_KEY_PREFIX: `test:${runId()}:w${workerId()}:shutdown:` };
  let api: CompiledApp;

  afterAll(async () => {
    await api?.stop();
  }, 30_000);

  it(
    'answers every request it accepted and publishes every click before it exits',
    async () => {
      api = await startCompiledApp('api', { ...prefixes, CLICK_FLUSH_INTERVAL_MS: '1000', LOG_LEVEL: 'info' });
      const alias = `sd-${workerId()}-${Date.now().toString(36)}`;
      const created = await fetch(`${api.url}/api/v1/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/shutdown', alias }),
      });
      expect(created.status).toBe(201);

      const url = new URL(`${api.url}/${alias}`);
      const statuses = new Map<number, number>();
      const lost: string[] = [];
      let refused = 0;
      let responses = 0;
      const clientLoop = async (): Promise<void> => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        // Bounded: stops once refused, and never runs past a deadline.
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const outcome = await get(agent, url);
          if (outcome.kind === 'refused') {
            refused += 1;
            break;
          }
          if (outcome.kind === 'lost') {
            lost.push(outcome.error);
            break;
          }
          responses += 1;
          statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        }
        agent.destroy();
      };
      const loops = Array.from({ length: 8 }, () => clientLoop());
      await waitUntil('steady load', () => responses >= 400, { timeoutMs: 15_000 });
      api.child.kill('SIGTERM');
      await Promise.all(loops);
      // A clean shutdown ends the process by the signal, re-raised once everything closed.
      const ended = await api.exited;

      expect({ ended, lost, refused, statuses: Object.fromEntries(statuses) }).toEqual({
        ended: 'SIGTERM',
        lost: [],
        refused: 8,
        statuses: { 302: responses },
      });
      const messages = api.logLines().map((l) => l.msg);
      expect(messages.filter((m) => typeof m === 'string' && m.startsWith('shutdown'))).toEqual([
        'shutdown started: readiness fails from now on',
        'shutdown complete',
      ]);

      // Every redirect's click is in the queue: the buffer was flushed on shutdown.
      const queue = createQueue(loadConfig('api', testEnv(prefixes)), QUEUES.clicks);
      try {
        const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed']);
        const clicks = jobs.reduce((n, job) => n + (job.data.clicks as unknown[]).length, 0);
        expect({ clicks, redirects: responses }).toEqual({ clicks: responses, redirects: responses });
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
      }
    },
    2 * READY_TIMEOUT_MS,
  );
});

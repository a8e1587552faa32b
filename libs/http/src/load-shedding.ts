import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PROBLEM_CONTENT_TYPE, problem } from './problem';

const OVERLOADED_BODY = JSON.stringify(problem('overloaded', 'The server is overloaded; retry after the Retry-After delay'));
/** Seconds a shed client is asked to wait (RFC 9110 section 10.2.3). */
export const SHED_RETRY_AFTER_SECONDS = 1;
/** Sampling resolution (ms) of the event-loop delay histogram; subtracted from its mean, as it is the timer's own period. */
const RESOLUTION_MS = 10;

/**
 * Load shedding under event-loop pressure: while the
 * mean event-loop delay of the last sample exceeds `maxEventLoopDelayMs`,
 * every public request gets a 503 `overloaded` problem with `Retry-After`
 * at once, before any work, so a saturated pod sheds instead of queueing
 * until every request times out. A sample without a single measurement
 * (the loop was blocked for the whole interval) counts as overloaded. The
 * management server (probes, metrics) is a separate instance and never sheds.
 *
 * The delay comes from Node's `perf_hooks.monitorEventLoopDelay` and
 * nothing else: @fastify/under-pressure, which did this before, also reads
 * `process.memoryUsage()` on every sample, and that throws `EMFILE` from a
 * timer (ending the process) when the process is out of file descriptors,
 * which a connection flood causes.
 *
 * @param maxEventLoopDelayMs threshold in milliseconds; 0 disables shedding.
 * @param sampleIntervalMs how often the delay is sampled (milliseconds).
 */
export async function installLoadShedding(app: NestFastifyApplication, maxEventLoopDelayMs: number, sampleIntervalMs = 500): Promise<void> {
  if (maxEventLoopDelayMs <= 0) return;
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let delayMs = 0;
  const timer = setInterval(() => {
    delayMs = histogram.count === 0 ? Infinity : Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
    histogram.reset();
  }, sampleIntervalMs);
  timer.unref();
  fastify.addHook('onRequest', function shedUnderPressure(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
    if (delayMs <= maxEventLoopDelayMs) {
      done();
      return;
    }
    void reply.code(503).header('retry-after', String(SHED_RETRY_AFTER_SECONDS)).header('content-type', PROBLEM_CONTENT_TYPE).send(OVERLOADED_BODY);
  });
  fastify.addHook('onClose', (_instance: FastifyInstance, done: () => void) => {
    clearInterval(timer);
    histogram.disable();
    done();
  });
}

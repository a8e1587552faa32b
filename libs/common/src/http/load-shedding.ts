import underPressure from '@fastify/under-pressure';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PROBLEM_CONTENT_TYPE, problem } from './problem';

const OVERLOADED_BODY = JSON.stringify(problem('overloaded', 'The server is overloaded; retry after the Retry-After delay'));
/** Seconds a shed client is asked to wait (RFC 9110 section 10.2.3). */
export const SHED_RETRY_AFTER_SECONDS = 1;

/**
 * Load shedding under event-loop pressure (DESIGN.md section 7) with
 * @fastify/under-pressure: while the mean event-loop delay of the last sample
 * exceeds `maxEventLoopDelayMs`, every public request gets a 503
 * `overloaded` problem with `Retry-After` at once, before any work, so a
 * saturated pod sheds instead of queueing until every request times out.
 * The management server (probes, metrics) is a separate instance and never sheds.
 *
 * @param maxEventLoopDelayMs threshold in milliseconds; 0 disables shedding.
 * @param sampleIntervalMs how often the delay is sampled (milliseconds).
 */
export async function installLoadShedding(app: NestFastifyApplication, maxEventLoopDelayMs: number, sampleIntervalMs = 500): Promise<void> {
  if (maxEventLoopDelayMs <= 0) return;
  await app.register(underPressure as never, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    sampleInterval: sampleIntervalMs,
    exposeStatusRoute: false,
    pressureHandler: (_request: unknown, reply: { code(n: number): { header(k: string, v: string): unknown }; header(k: string, v: string): unknown }) => {
      reply.code(503).header('retry-after', String(SHED_RETRY_AFTER_SECONDS));
      reply.header('content-type', PROBLEM_CONTENT_TYPE);
      return OVERLOADED_BODY;
    },
  });
}

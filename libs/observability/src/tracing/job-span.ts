import { context, Link, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { MAX_SPAN_LINKS, spanLinksFromTraceparents } from './trace-context';

/** Name of the tracer of the application's own spans (job processing). */
export const TRACER_NAME = 'shortener';

/** The job a span is about. */
export interface TracedJob {
  /** BullMQ queue name (without the prefix). */
  queue: string;
  /** Job name, e.g. `click-batch`. */
  name: string;
  id?: string;
  /** Messages the job aggregates (e.g. clicks in a batch), for `messaging.batch.message_count`. */
  messageCount?: number;
}

/**
 * Runs `work` inside a CONSUMER span `process <queue>` (OpenTelemetry
 * messaging semantic conventions: `messaging.system` bullmq,
 * `messaging.operation.type` process, `messaging.destination.name`,
 * `messaging.message.id`, `messaging.batch.message_count`) that carries span
 * links to the spans named by `traceparents`: a click batch links to the
 * sampled redirects whose clicks it counts (docs/design.md section 7), at most
 * {@link MAX_SPAN_LINKS}. pg and ioredis calls made by `work` become its children.
 *
 * The span is a new root trace: sampled by the configured sampler. With the
 * SDK disabled it is a no-op span and this costs next to nothing.
 *
 * @returns what `work` returns; rethrows its error after recording it on the span.
 */
export async function withJobSpan<T>(job: TracedJob, traceparents: Iterable<string | undefined | null>, work: () => Promise<T>): Promise<T> {
  const links: Link[] = spanLinksFromTraceparents(traceparents);
  const tracer = trace.getTracer(TRACER_NAME);
  const attributes: Record<string, string | number> = {
    'messaging.system': 'bullmq',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': job.queue,
    'shortener.job.name': job.name,
  };
  if (job.id !== undefined) attributes['messaging.message.id'] = job.id;
  if (job.messageCount !== undefined) attributes['messaging.batch.message_count'] = job.messageCount;
  // A new trace per job: the producer's context is not this job's parent (a batch has many).
  return tracer.startActiveSpan(`process ${job.queue}`, { kind: SpanKind.CONSUMER, links, attributes, root: true }, context.active(), async (span) => {
    try {
      return await work();
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  });
}

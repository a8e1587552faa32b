import { context, Link, SpanContext, trace, TraceFlags } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { parseTraceparent } from './head-sampling';

/**
 * The active span's context when it is sampled, else undefined. Cheap
 * enough for the hot path: with tracing disabled or an unsampled request
 * (skipped by the instrumentation) there is no active span and this is one
 * context lookup.
 */
export function activeSampledSpanContext(): SpanContext | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const sc = span.spanContext();
  return (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? sc : undefined;
}

/**
 * The W3C `traceparent` (version 00) of the active span when it is sampled,
 * e.g. `00-<32 hex trace id>-<16 hex span id>-01`; undefined otherwise. The
 * redirect puts it on the click so that the worker's batch span can link to
 * the redirect spans it counts.
 */
export function sampledTraceparent(): string | undefined {
  const sc = activeSampledSpanContext();
  return sc ? `00-${sc.traceId}-${sc.spanId}-01` : undefined;
}

/**
 * Names the route of the active HTTP server span, for a route that the
 * Fastify instrumentation leaves alone (the redirect, docs/design.md section 7):
 * the http instrumentation reads the route from the context's RPC metadata
 * when the response finishes, sets `http.route` and names the span
 * `GET /:code` (OpenTelemetry HTTP semantic conventions). Without an active
 * span (unsampled request, tracing off) it is one context lookup.
 */
export function setActiveHttpRoute(route: string): void {
  const ctx = context.active();
  if (trace.getSpan(ctx) === undefined) return;
  const rpc = getRPCMetadata(ctx);
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

/** Most span links put on one span; the SDK's default link count limit is 128 too. */
export const MAX_SPAN_LINKS = 128;

/**
 * Span links (OpenTelemetry trace API) to the spans named by `traceparent`
 * values, e.g. the redirects of one click batch. Missing and invalid values
 * are skipped, duplicates kept once, at most `max` links.
 */
export function spanLinksFromTraceparents(traceparents: Iterable<string | undefined | null>, max = MAX_SPAN_LINKS): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const value of traceparents) {
    if (links.length >= max) break;
    const parsed = parseTraceparent(value ?? undefined);
    if (!parsed || seen.has(parsed.spanId)) continue;
    seen.add(parsed.spanId);
    links.push({
      context: { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true },
    });
  }
  return links;
}

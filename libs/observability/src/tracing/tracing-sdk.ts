import FastifyOtelInstrumentation from '@fastify/otel';
import { Attributes, context, Context, Link, SpanKind, trace } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  Sampler,
  SamplingDecision,
  SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import type { IncomingMessage } from 'node:http';
import { decideHeadSampling, HeadSamplingPolicy, headSamplingPolicyFromEnv } from './head-sampling';

/**
 * Paths of the management server (`/metrics`, `/health/*`): probes and
 * scrapes are never traced. The public server never serves them (they are
 * reserved first path segments), so matching the path is enough.
 */
export function isManagementPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/metrics' || url.startsWith('/metrics?') || url.startsWith('/health/'));
}

// Requests the head decision sampled: the gate decides, the instrumentation's ignore hook asks again.
const sampledRequests = new WeakSet<IncomingMessage>();

/**
 * The head sampling decision of one incoming request, taken once: the first
 * call draws (management paths are never sampled), later calls for the same
 * request return a positive answer from memory. The gate and the http
 * instrumentation's ignore hook both ask, so without the memory a root
 * request would be drawn twice and sampled at ratio squared (0.01% for 1%).
 * Only positive answers are kept: a request the gate refuses never reaches
 * the hook, and keeping nothing for it costs the unsampled 99% nothing.
 *
 * @param random source of [0, 1) for root decisions (tests pass their own).
 */
export function headSampled(policy: HeadSamplingPolicy, request: IncomingMessage, random: () => number = Math.random): boolean {
  if (sampledRequests.has(request)) return true;
  if (isManagementPath(request.url) || !decideHeadSampling(policy, request.headers.traceparent, random)) return false;
  sampledRequests.add(request);
  return true;
}

/** The SDK sampler equivalent to a head sampling policy (OpenTelemetry built-in samplers). */
export function samplerForPolicy(policy: HeadSamplingPolicy): Sampler {
  const root = policy.ratio >= 1 ? new AlwaysOnSampler() : policy.ratio <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(policy.ratio);
  return policy.parentBased ? new ParentBasedSampler({ root }) : root;
}

/**
 * Samples every HTTP server span (the head decision already let only the
 * sampled requests through to the instrumentation, so deciding again could
 * only disagree with it) and defers everything else, e.g. the worker's job
 * spans, to the configured sampler.
 */
export class HeadDecisionSampler implements Sampler {
  constructor(private readonly fallback: Sampler) {}

  shouldSample(ctx: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (spanKind === SpanKind.SERVER && (attributes['http.request.method'] !== undefined || attributes['http.method'] !== undefined)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.fallback.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `HeadDecisionSampler{${this.fallback.toString()}}`;
  }
}

/** Default `service.name` when `OTEL_SERVICE_NAME` is unset: from the entry script's path. */
export function defaultServiceName(entry: string | undefined = process.argv[1]): string {
  return entry && /[\\/]apps[\\/]worker[\\/]/.test(entry) ? 'shortener-worker' : 'shortener-api';
}

/**
 * Builds the process's OpenTelemetry NodeSDK (not started):
 *
 * - export: OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`, protobuf by
 *   default or JSON with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` (the SDK reads
 *   the standard variables); no OTel metrics or logs export (prom-client and
 *   stdout carry those);
 * - sampling: `OTEL_TRACES_SAMPLER*`, decided for incoming HTTP requests
 *   before any instrumentation runs: {@link gateIncomingRequests} hands an
 *   unsampled request straight to the unpatched `http.Server#emit` (the http
 *   instrumentation's ignore hook is the fallback), and @fastify/otel finds no
 *   active span and skips it too, so it pays no span wrapping (docs/design.md
 *   section 7). Measured on cached redirects (docs/benchmarks.md, "Tracing
 *   at a real 1%"): at ratio 0 within noise of tracing off; at 1% about 7-11
 *   us more CPU per request, the sampled redirects' spans, exports and log
 *   lines; without the gate about 0.6 of tracing off's throughput;
 * - instrumentations: http (incoming; outgoing only under a traced parent),
 *   Fastify (@fastify/otel: request and handler spans, no per-hook spans;
 *   the redirect route opts out, see RedirectRoute),
 *   pg and ioredis (only under a traced parent, so background commands such
 *   as BullMQ polling make no root spans), pino (trace_id/span_id in log
 *   lines). fs, dns and net are not instrumented at all.
 */
export function createTracingSdk(env: NodeJS.ProcessEnv = process.env): NodeSDK {
  const policy = headSamplingPolicyFromEnv(env);
  return new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || defaultServiceName(),
    sampler: new HeadDecisionSampler(samplerForPolicy(policy)),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request: IncomingMessage) => !headSampled(policy, request),
        requireParentforOutgoingSpans: true,
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        // Called with the route's options when a route is added (always wrap
        // it) and with { url, method } per request: skip unless traced.
        ignorePaths: (options: object) => !('handler' in options) && trace.getSpan(context.active()) === undefined,
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
}

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Puts the head sampling decision in front of the http instrumentation
 * (docs/design.md section 7): once the SDK has patched `http.Server#emit`, an
 * unsampled request (and every probe or scrape) is handed to the original,
 * unpatched `emit`, so it pays neither span creation nor the instrumentation's
 * per-request context binding; a sampled one goes through the instrumented
 * `emit`. The instrumentation's own ignore hook stays as a second line.
 *
 * @returns false when `emit` is not patched (SDK disabled, or the http
 *   instrumentation off): nothing is changed then.
 */
export function gateIncomingRequests(policy: HeadSamplingPolicy): boolean {
  // Required here, after the SDK started, so the instrumentation has patched it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily on purpose: a top-level import would take http before the instrumentation patched it
  const http = require('http') as typeof import('http');
  const proto = http.Server.prototype as unknown as { emit: Emit };
  const instrumented = proto.emit as Emit & { __original?: Emit };
  if (!isWrapped(proto.emit) || typeof instrumented.__original !== 'function') return false;
  const original = instrumented.__original;
  proto.emit = function gatedEmit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      if (!headSampled(policy, args[0] as IncomingMessage)) return original.call(this, event, ...args);
    }
    return instrumented.call(this, event, ...args);
  };
  return true;
}

/**
 * The head sampling decision for incoming HTTP requests, taken before any
 * instrumentation runs (docs/design.md section 7, "Tracing cost on the hot
 * path"): wrapping a request in spans costs about 60 us of CPU whether or not
 * it is exported, so an unsampled request must not be wrapped at all.
 *
 * The policy follows the standard `OTEL_TRACES_SAMPLER` /
 * `OTEL_TRACES_SAMPLER_ARG` variables (OpenTelemetry SDK environment variable
 * specification); unset means `parentbased_always_on`, as the specification
 * says. An unknown sampler name also falls back to it.
 */
export interface HeadSamplingPolicy {
  /** Whether an incoming `traceparent`'s sampled flag decides (the `parentbased_*` samplers). */
  parentBased: boolean;
  /** Probability of sampling a root (or, without `parentBased`, any) request, in [0, 1]. */
  ratio: number;
}

const DEFAULT_RATIO = 1;

/**
 * Reads the policy from the environment.
 *
 * @param env `process.env` by default.
 * @returns ratio 1 for `always_on`, 0 for `always_off`, the
 *   `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers (1 when missing or out of
 *   [0, 1], as the SDK does).
 */
export function headSamplingPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): HeadSamplingPolicy {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase() || 'parentbased_always_on';
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG !== undefined && env.OTEL_TRACES_SAMPLER_ARG !== '' && arg >= 0 && arg <= 1 ? arg : DEFAULT_RATIO;
  switch (name) {
    case 'always_on':
      return { parentBased: false, ratio: 1 };
    case 'always_off':
      return { parentBased: false, ratio: 0 };
    case 'traceidratio':
      return { parentBased: false, ratio };
    case 'parentbased_always_off':
      return { parentBased: true, ratio: 0 };
    case 'parentbased_traceidratio':
      return { parentBased: true, ratio };
    default:
      return { parentBased: true, ratio: 1 };
  }
}

// W3C Trace Context level 1: version-traceid-parentid-flags, lower-case hex.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/** A parsed, valid `traceparent` header (W3C Trace Context). */
export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/**
 * Parses a `traceparent` header value per W3C Trace Context; `undefined` for
 * a missing or invalid one (version ff, all-zero ids, wrong shape), which
 * then counts as no parent.
 */
export function parseTraceparent(header: string | string[] | undefined): ParsedTraceparent | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

/**
 * The trace-id ratio test of the OpenTelemetry JS `TraceIdRatioBasedSampler`
 * (the 32-bit XOR of the trace id's four words against `ratio * 2^32 - 1`), so
 * that a known trace id gets the same answer here as in the SDK.
 */
export function traceIdWithinRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  let acc = 0;
  for (let i = 0; i < traceId.length / 8; i += 1) acc = (acc ^ parseInt(traceId.slice(i * 8, i * 8 + 8), 16)) >>> 0;
  return acc < Math.floor(ratio * 0xffffffff);
}

/**
 * Whether an incoming request is traced.
 *
 * @param traceparent the request's `traceparent` header.
 * @param random source of [0, 1) for root decisions (a new trace's id is not
 *   known yet; the SDK then samples the span this decision lets through).
 */
export function decideHeadSampling(policy: HeadSamplingPolicy, traceparent: string | string[] | undefined, random: () => number = Math.random): boolean {
  if (policy.ratio >= 1 && !policy.parentBased) return true;
  const parent = parseTraceparent(traceparent);
  if (parent && policy.parentBased) return parent.sampled;
  if (parent) return traceIdWithinRatio(parent.traceId, policy.ratio);
  if (policy.ratio >= 1) return true;
  if (policy.ratio <= 0) return false;
  return random() < policy.ratio;
}

/**
 * Tracing bootstrap, loaded before anything else:
 * `node --require ./dist/libs/observability/src/tracing/register.js dist/apps/<app>/src/main.js`.
 * Instrumentation patches modules as they are first required, so the SDK
 * must start before Nest, Fastify, pg, ioredis or pino are loaded.
 *
 * `OTEL_SDK_DISABLED=true` turns all of it off: nothing is loaded or patched.
 */
import { headSamplingPolicyFromEnv } from './head-sampling';
import { createTracingSdk, gateIncomingRequests } from './tracing-sdk';
import { setTracingShutdown } from './tracing-shutdown';

function disabled(value: string | undefined): boolean {
  return ['true', '1', 'yes'].includes((value ?? '').trim().toLowerCase());
}

if (!disabled(process.env.OTEL_SDK_DISABLED)) {
  const sdk = createTracingSdk();
  sdk.start();
  gateIncomingRequests(headSamplingPolicyFromEnv());
  setTracingShutdown(() => sdk.shutdown());
}

import type { AppConfig } from '@shortener/config';
import pino, { DestinationStream, Logger } from 'pino';

/** Injection token of the process's root pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** What replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Paths pino redacts in every line (fast-redact syntax; `*` is one level):
 * credentials must never reach the logs (docs/design.md section 9). API keys
 * travel as `Authorization: Bearer sk_...`; objects that carry a key do so
 * under `key`, `apiKey`, `api_key` or `secret`.
 */
export const REDACTED_PATHS = [
  'authorization',
  'key',
  'apiKey',
  'api_key',
  'secret',
  'password',
  '*.authorization',
  '*.key',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.password',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
];

/**
 * Creates the process's root logger: JSON lines (pino), level from
 * `LOG_LEVEL` (`silent` in tests), ISO timestamps, level as a label, the
 * service name on every line, secrets redacted. When the tracing SDK is
 * loaded, its pino instrumentation adds `trace_id`/`span_id` to lines written
 * inside a traced request or job.
 *
 * @param destination where lines go; stdout (synchronous) by default.
 */
export function createLogger(config: Pick<AppConfig, 'logLevel' | 'otel'>, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: config.otel.serviceName },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: REDACTED },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

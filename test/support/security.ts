import { MetricsService } from '@shortener/observability';
import { randomUUID } from 'node:crypto';
import { TestApi } from './api-app';
import { testEnv } from './test-env';

/**
 * Overrides giving an app its own Redis key prefix (rate-limit counters,
 * caches, invalidation channel), so counters another test of this worker
 * left within the last minute never count here. Pass the same overrides to
 * a second process that must share the counters.
 */
export function isolatedRedis(overrides: Record<string, string> = {}): Record<string, string> {
  return { REDIS_KEY_PREFIX: `${testEnv().REDIS_KEY_PREFIX}iso-${randomUUID()}:`, ...overrides };
}

/** The value of a labelled counter child of the app's metrics, 0 when never incremented. */
export async function counterValue(api: TestApi, metric: 'rateLimited' | 'blocklistRefusals' | 'redirects', labels: Record<string, string>): Promise<number> {
  const { values } = await api.app.get(MetricsService)[metric].get();
  const match = values.find((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value));
  return match?.value ?? 0;
}

/** A parsed `RateLimit` field (draft-ietf-httpapi-ratelimit-headers-10): policy name to remaining `r` and reset `t`. */
export function parseRateLimit(header: string | undefined): Record<string, { r: number; t: number }> {
  const out: Record<string, { r: number; t: number }> = {};
  for (const member of (header ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean)) {
    const m = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(member);
    if (!m) throw new Error(`not a RateLimit member: ${member}`);
    out[m[1]] = { r: Number(m[2]), t: Number(m[3]) };
  }
  return out;
}

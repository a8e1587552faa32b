import { formatRateLimit, formatRateLimitPolicy, QuotaPolicy, secondsUntilReset } from './ratelimit-headers';

const key: QuotaPolicy = { name: 'api-key', quota: 600, windowSeconds: 60 };
const client: QuotaPolicy = { name: 'client', quota: 1200, windowSeconds: 60 };

describe(formatRateLimitPolicy.name, () => {
  it('writes one SF List member per policy: a String with q and w parameters', () => {
    expect(formatRateLimitPolicy([key])).toBe('"api-key";q=600;w=60');
    expect(formatRateLimitPolicy([key, client])).toBe('"api-key";q=600;w=60, "client";q=1200;w=60');
    expect(formatRateLimitPolicy([{ name: 'redirect', quota: 0, windowSeconds: 1 }])).toBe('"redirect";q=0;w=1');
  });

  it('escapes quotes and backslashes in policy names (RFC 9651 section 4.1.6)', () => {
    expect(formatRateLimitPolicy([{ name: 'a"b\\c', quota: 1, windowSeconds: 1 }])).toBe('"a\\"b\\\\c";q=1;w=1');
  });

  it.each([
    [{ name: 'é', quota: 1, windowSeconds: 1 }, 'policy name "é" is not printable ASCII'],
    [{ name: 'x', quota: -1, windowSeconds: 1 }, '-1 is not a non-negative Structured Field Integer'],
    [{ name: 'x', quota: 1.5, windowSeconds: 1 }, '1.5 is not a non-negative Structured Field Integer'],
    [{ name: 'x', quota: 1e15, windowSeconds: 1 }, '1000000000000000 is not a non-negative Structured Field Integer'],
  ])('refuses what is not a valid Structured Field: %p', (policy, message) => {
    expect(() => formatRateLimitPolicy([policy])).toThrow(message);
  });
});

describe(formatRateLimit.name, () => {
  it('writes one SF List member per policy with r (remaining) and t (reset seconds)', () => {
    expect(formatRateLimit([{ policy: key, remaining: 599, resetSeconds: 41 }])).toBe('"api-key";r=599;t=41');
    expect(
      formatRateLimit([
        { policy: key, remaining: 0, resetSeconds: 60 },
        { policy: client, remaining: 1187, resetSeconds: 41 },
      ]),
    ).toBe('"api-key";r=0;t=60, "client";r=1187;t=41');
  });

  it('sends a negative remaining quota (a client past its limit) as 0', () => {
    expect(formatRateLimit([{ policy: client, remaining: -4, resetSeconds: 7 }])).toBe('"client";r=0;t=7');
  });
});

describe(secondsUntilReset.name, () => {
  it.each([
    [60_000, 60],
    [59_001, 60],
    [59_000, 59],
    [1, 1],
    [0, 0],
    [-1, 0],
  ])('rounds %d ms up to %d s', (ms, seconds) => {
    expect(secondsUntilReset(ms)).toBe(seconds);
  });
});

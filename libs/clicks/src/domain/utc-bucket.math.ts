/**
 * UTC time buckets of the click analytics (docs/design.md section 5: buckets are
 * UTC). Instants are epoch milliseconds; days are `YYYY-MM-DD` strings.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Series resolution of the stats API. */
export type Granularity = 'hour' | 'day';

/** Length of one bucket in milliseconds. */
export function bucketMs(granularity: Granularity): number {
  return granularity === 'hour' ? HOUR_MS : DAY_MS;
}

/** Start of the UTC bucket containing `ms` (floor). */
export function bucketStart(ms: number, granularity: Granularity): number {
  const size = bucketMs(granularity);
  return Math.floor(ms / size) * size;
}

/** Smallest bucket boundary at or after `ms` (ceil). */
export function bucketCeil(ms: number, granularity: Granularity): number {
  const size = bucketMs(granularity);
  return Math.ceil(ms / size) * size;
}

/** Start of the UTC hour containing `ms`. */
export function hourStart(ms: number): number {
  return bucketStart(ms, 'hour');
}

/** The UTC calendar day of `ms` as `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(bucketStart(ms, 'day')).toISOString().slice(0, 10);
}

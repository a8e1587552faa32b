import { Clock, DomainError, MAX_INSTANT_MS, MIN_INSTANT_MS } from '@shortener/common';
import { Granularity, bucketCeil, bucketMs, bucketStart, utcDay } from './utc-bucket.math';

/** At most this many series points per request (hour: about 41 days; day: about 2.7 years). */
export const MAX_STATS_POINTS = 1_000;
/** Points of the default range when `from` is absent: the last day hourly, the last 30 days daily. */
export const DEFAULT_STATS_POINTS: Record<Granularity, number> = { hour: 24, day: 30 };

/** The stats request's range as given (RFC 3339 instants with offsets, already format-checked). */
export interface StatsRangeQuery {
  from?: string;
  to?: string;
  granularity: Granularity;
}

/**
 * The buckets a stats request covers: every UTC bucket that overlaps
 * [from, to), i.e. [start, end) with `start` = from floored and `end` = to
 * ceiled to the granularity. Unique visitors and dimensions have daily
 * resolution and cover the UTC days `firstDay`..`lastDay` (inclusive).
 */
export interface StatsRange {
  granularity: Granularity;
  /** Epoch ms, bucket-aligned, inclusive. */
  start: number;
  /** Epoch ms, bucket-aligned, exclusive. */
  end: number;
  points: number;
  firstDay: string;
  lastDay: string;
}

/**
 * Resolves defaults and limits: `to` defaults to now; without `from` the
 * range is the last {@link DEFAULT_STATS_POINTS} buckets up to and including
 * the one containing `to`.
 *
 * @param clock the source of "now" (the default `to`).
 * @throws DomainError `stats-range-invalid` when `from` is not before `to`,
 *   the range has more than {@link MAX_STATS_POINTS} points, or its buckets
 *   reach outside [{@link MIN_INSTANT_MS}, {@link MAX_INSTANT_MS}]
 *   (these name the parameter in `errors`, as validation errors do).
 */
export function planStatsRange(q: StatsRangeQuery, clock: Clock): StatsRange {
  const nowMs = clock.now();
  const size = bucketMs(q.granularity);
  const toMs = q.to === undefined ? nowMs : Date.parse(q.to);
  const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
  if (Number.isNaN(toMs) || (fromMs !== undefined && Number.isNaN(fromMs))) {
    throw new DomainError('stats-range-invalid', 'from and to must be RFC 3339 timestamps with an offset');
  }
  // `to` itself belongs to the range when it is the default (now): the current bucket is shown.
  const end = q.to === undefined ? bucketStart(toMs, q.granularity) + size : bucketCeil(toMs, q.granularity);
  const start = fromMs === undefined ? end - DEFAULT_STATS_POINTS[q.granularity] * size : bucketStart(fromMs, q.granularity);
  if (fromMs !== undefined && fromMs >= toMs) {
    throw new DomainError('stats-range-invalid', `from (${q.from}) must be before to (${q.to ?? new Date(toMs).toISOString()})`, { from: q.from, to: q.to });
  }
  if (start < MIN_INSTANT_MS) {
    const [pointer, detail] =
      fromMs === undefined
        ? [
            '/to',
            `the default range (${DEFAULT_STATS_POINTS[q.granularity]} ${q.granularity} buckets up to to) would start before 0001-01-01T00:00:00Z: give from`,
          ]
        : ['/from', 'must not be before 0001-01-01T00:00:00Z'];
    throw new DomainError('stats-range-invalid', `${pointer}: ${detail}`, { errors: [{ pointer, detail }] });
  }
  if (end > MAX_INSTANT_MS) {
    const detail = `ceiled to the ${q.granularity}, must not be after 9999-12-31T23:59:59.999Z`;
    throw new DomainError('stats-range-invalid', `/to: ${detail}`, { errors: [{ pointer: '/to', detail }] });
  }
  const points = (end - start) / size;
  if (points > MAX_STATS_POINTS) {
    throw new DomainError(
      'stats-range-invalid',
      `The range has ${points} ${q.granularity} points; at most ${MAX_STATS_POINTS} are allowed: shorten it or use granularity=day`,
      { points, maxPoints: MAX_STATS_POINTS },
    );
  }
  return { granularity: q.granularity, start, end, points, firstDay: utcDay(start), lastDay: utcDay(end - 1) };
}

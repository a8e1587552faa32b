import { instant, text } from '@shortener/links';
import { z } from 'zod';

/** `GET /api/v1/links/{code}/stats` query (docs/design.md section 3). */
export const linkStatsQuerySchema = z
  .object({
    from: instant().optional().describe('Start of the range (inclusive; floored to the bucket). Default: 24 hourly or 30 daily buckets before `to`.'),
    to: instant().optional().describe('End of the range (exclusive; ceiled to the bucket). Default: now, including the current bucket.'),
    granularity: z.enum(['hour', 'day']).default('day').describe('Series bucket size; buckets are UTC.'),
    domain: text().min(1).max(253).optional().describe('Short domain of the code; the default domain when absent.'),
  })
  .strict();
export type LinkStatsQuery = z.output<typeof linkStatsQuerySchema>;

const count = z.int().min(0);
const top = z.array(z.object({ value: z.string().nullable().describe('null: none or unknown'), clicks: count }));

/** The stats response. Dimensions and unique visitors count human clicks only, per UTC day. */
export const linkStatsResponseSchema = z.object({
  code: z.string(),
  domain: z.string(),
  granularity: z.enum(['hour', 'day']),
  from: z.string().describe('Start of the first bucket (RFC 3339, UTC).'),
  to: z.string().describe('End of the last bucket, exclusive (RFC 3339, UTC).'),
  totals: z.object({
    clicks: count.describe('Human and bot clicks in the range.'),
    humanClicks: count,
    botClicks: count,
    uniqueVisitors: count.nullable().describe('Distinct visitors (HyperLogLog estimate) over the UTC days of the range; null when it cannot be computed now.'),
  }),
  series: z.array(z.object({ start: z.string(), humanClicks: count, botClicks: count })),
  referrers: top,
  countries: top,
  browsers: top,
  operatingSystems: top,
  deviceTypes: top,
});
export type LinkStatsResponse = z.output<typeof linkStatsResponseSchema>;

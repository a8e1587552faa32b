import { Injectable, Logger } from '@nestjs/common';
import { Principal, canAccessAccount } from '@shortener/auth';
import { Clock, DomainError } from '@shortener/common';
import { LinkRepository, ShortDomains } from '@shortener/links';
import { ClickDimension } from '../domain/click-dimensions.extractor';
import { StatsRange, planStatsRange } from '../domain/stats-range';
import { bucketMs, bucketStart } from '../domain/utc-bucket.math';
import { ClickRepository } from '../persistence/click.repository';
import { VisitorHllStore } from '../visitors/visitor-hll.store';
import { LinkStatsQuery, LinkStatsResponse } from './link-stats.schemas';

/** Entries per top list. */
export const TOP_N = 10;

const LISTS: Record<ClickDimension, keyof Pick<LinkStatsResponse, 'referrers' | 'countries' | 'browsers' | 'operatingSystems' | 'deviceTypes'>> = {
  referrer: 'referrers',
  country: 'countries',
  browser: 'browsers',
  os: 'operatingSystems',
  device: 'deviceTypes',
};

/**
 * The analytics of one link over a range (docs/design.md section 3): totals, a
 * dense UTC series (every bucket, zeros included), the top {@link TOP_N}
 * referrer hosts, countries, browsers, operating systems and device types,
 * and unique visitors as the union of the daily HyperLogLogs. Analytics are
 * read from a replica when one is configured.
 */
@Injectable()
export class LinkStatsService {
  private readonly logger = new Logger(LinkStatsService.name);

  constructor(
    private readonly clicks: ClickRepository,
    private readonly links: LinkRepository,
    private readonly domains: ShortDomains,
    private readonly hll: VisitorHllStore,
    private readonly clock: Clock,
  ) {}

  /**
   * @throws DomainError `link-not-found` (also for another account's link, as
   *   LinkService.get), `domain-unknown`, `stats-range-invalid`.
   */
  async stats(principal: Principal, code: string, q: LinkStatsQuery): Promise<LinkStatsResponse> {
    const domain = this.domains.resolve(q.domain);
    // The link itself from the primary, as LinkService.get reads it: a link created a moment ago is never a 404.
    const link = await this.links.findIdentity(domain.host, code.normalize('NFC'));
    if (!link || !canAccessAccount(principal, link.accountId)) throw new DomainError('link-not-found', `No link ${code} on ${domain.host}`);
    const range = planStatsRange(q, this.clock);
    const [hourly, tops, visitors] = await Promise.all([
      this.clicks.hourly(link.id, new Date(range.start), new Date(range.end)),
      this.clicks.topValues(link.id, range.firstDay, range.lastDay, TOP_N),
      this.clicks.visitorHlls(link.id, range.firstDay, range.lastDay),
    ]);
    const series = this.series(range, hourly);
    const humanClicks = series.reduce((n, p) => n + p.humanClicks, 0);
    const botClicks = series.reduce((n, p) => n + p.botClicks, 0);
    const lists: Pick<LinkStatsResponse, 'referrers' | 'countries' | 'browsers' | 'operatingSystems' | 'deviceTypes'> = {
      referrers: [],
      countries: [],
      browsers: [],
      operatingSystems: [],
      deviceTypes: [],
    };
    for (const r of tops) lists[LISTS[r.dimension]].push({ value: r.value === '' ? null : r.value, clicks: Number(r.clicks) });

    return {
      code: link.code,
      domain: link.domain,
      granularity: range.granularity,
      from: new Date(range.start).toISOString(),
      to: new Date(range.end).toISOString(),
      totals: { clicks: humanClicks + botClicks, humanClicks, botClicks, uniqueVisitors: await this.uniqueVisitors(visitors) },
      series,
      ...lists,
    };
  }

  private series(range: StatsRange, rows: { ms: string; human: string; bot: string }[]): LinkStatsResponse['series'] {
    const size = bucketMs(range.granularity);
    const points = Array.from({ length: range.points }, (_, i) => ({ start: new Date(range.start + i * size).toISOString(), humanClicks: 0, botClicks: 0 }));
    for (const r of rows) {
      const point = points[(bucketStart(Number(r.ms), range.granularity) - range.start) / size];
      point.humanClicks += Number(r.human);
      point.botClicks += Number(r.bot);
    }
    return points;
  }

  // Unique visitors need Redis as the HLL engine; without it the rest of the stats still answer.
  private async uniqueVisitors(hlls: Buffer[]): Promise<number | null> {
    try {
      return await this.hll.unionCount(hlls);
    } catch (e) {
      this.logger.warn(`unique visitors unavailable: ${(e as Error).message}`);
      return null;
    }
  }
}

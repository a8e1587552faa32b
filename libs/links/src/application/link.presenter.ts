import { ShortDomain } from '@shortener/config';
import { LinkEntity, RedirectType } from './link.entity';
import { z } from 'zod';
import { linkState } from './link-state';
import { linkResponseSchema } from './link.schemas';

/** A link as the API returns it (never the entity itself): {@link linkResponseSchema}. */
export type LinkResponse = z.output<typeof linkResponseSchema>;

/**
 * The short URL of a code: the domain's configured base URL (never the
 * request's Host) and the code percent-encoded as a path segment, so Unicode
 * aliases stay reachable (case C13).
 */
export function shortUrl(domain: ShortDomain, code: string): string {
  return `${domain.baseUrl}/${encodeURIComponent(code)}`;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const ms = (d: Date | null) => (d ? d.getTime() : null);

/** Maps the stored link to its API representation at `nowMs`. */
export function presentLink(link: LinkEntity, domain: ShortDomain, nowMs: number): LinkResponse {
  return {
    code: link.code,
    domain: link.domain,
    shortUrl: shortUrl(domain, link.code),
    url: link.target,
    alias: link.isAlias,
    title: link.title,
    tags: link.tags,
    redirectType: Number(link.redirectType) as RedirectType,
    forwardQuery: link.forwardQuery,
    expiresAt: iso(link.expiresAt),
    maxClicks: link.maxClicks,
    clicks: link.clickTotal,
    state: linkState(
      {
        deletedAt: ms(link.deletedAt),
        disabledAt: ms(link.disabledAt),
        expiresAt: ms(link.expiresAt),
        maxClicks: link.maxClicks,
        clicksConsumed: link.clicksConsumed,
      },
      nowMs,
    ),
    createdAt: link.createdAt.toISOString(),
    updatedAt: link.updatedAt.toISOString(),
  };
}

import { RedirectType } from '@shortener/database';

/**
 * What the redirect needs of a link, as cached in the LRU and in Redis.
 * Instants are epoch milliseconds; `unavailable` marks deleted or disabled
 * links (410) so they are cached like the others.
 */
export interface RedirectSnapshot {
  id: string;
  target: string;
  redirectType: RedirectType;
  forwardQuery: boolean;
  expiresAt: number | null;
  /** Whether the link has a click limit (checked in PostgreSQL on each visit). */
  limited: boolean;
  unavailable: boolean;
}

/** The snapshot of a links row selected by {@link SNAPSHOT_SQL}. */
export function snapshotFromRow(r: Record<string, any>): RedirectSnapshot {
  return {
    id: String(r.id),
    target: r.target,
    redirectType: Number(r.redirect_type) as RedirectType,
    forwardQuery: r.forward_query,
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at).getTime(),
    limited: r.max_clicks !== null,
    unavailable: r.deleted_at !== null || r.disabled_at !== null,
  };
}

/**
 * Snapshots of a batch of links: `$1` domains and `$2` codes, parallel text
 * arrays; one row per stored link, with its `domain` and `code` to match
 * them up (unknown ones have no row). A nested loop of index lookups on the
 * `(domain, code)` unique index whatever the batch size.
 */
export const SNAPSHOT_BATCH_SQL = `SELECT l.domain, l.code, l.id, l.target, l.redirect_type, l.forward_query, l.expires_at, l.max_clicks, l.deleted_at, l.disabled_at
  FROM unnest($1::text[], $2::text[]) AS k(domain, code)
  JOIN links l ON l.domain = k.domain AND l.code = k.code`;

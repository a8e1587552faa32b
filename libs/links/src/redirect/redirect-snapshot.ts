import type { RedirectType } from '../application/link.entity';

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

/** The snapshot of a links row from `LinkRepository.redirectSnapshotRows`. */
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

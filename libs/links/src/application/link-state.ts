/** Every lifecycle state of a link, as the API shows it and the redirect enforces it. */
export const LINK_STATES = ['active', 'expired', 'exhausted', 'disabled', 'deleted'] as const;
/** The lifecycle state of a link (one of {@link LINK_STATES}). */
export type LinkState = (typeof LINK_STATES)[number];

/** The fields the state depends on. Instants are epoch milliseconds. */
export interface LinkStateFields {
  deletedAt: number | null;
  disabledAt: number | null;
  expiresAt: number | null;
  maxClicks: number | null;
  clicksConsumed: number;
}

/**
 * The state at `nowMs`. Expiry is inclusive of the instant (docs/design.md section 5):
 * a link with `expiresAt == now` is expired.
 */
export function linkState(l: LinkStateFields, nowMs: number): LinkState {
  if (l.deletedAt !== null) return 'deleted';
  if (l.disabledAt !== null) return 'disabled';
  if (l.expiresAt !== null && nowMs >= l.expiresAt) return 'expired';
  if (l.maxClicks !== null && l.clicksConsumed >= l.maxClicks) return 'exhausted';
  return 'active';
}

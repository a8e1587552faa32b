/** Roles per key (docs/design.md section 4): admin everything, member read/write own links, read_only read own links. */
export type ApiKeyRole = 'admin' | 'member' | 'read_only';
export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'member', 'read_only'];

/**
 * An API key as stored (table `api_keys`): a public prefix (looked up) and a
 * secret kept only as HMAC-SHA-256(pepper, secret) (docs/design.md section 9).
 * Every key belongs to an account (table `accounts`), which owns its links.
 */
export interface ApiKeyRecord {
  id: string;
  accountId: string;
  prefix: string;
  secretHash: Buffer;
  role: ApiKeyRole;
  name: string;
  /** The key's own limit per minute; null for `RATE_LIMIT_API_PER_MINUTE`. */
  rateLimitPerMinute: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

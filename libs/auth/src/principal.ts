import { ApiKeyRole } from './api-key.record';

/** Who is calling: the authenticated API key and its account. */
export interface Principal {
  keyId: string;
  prefix: string;
  accountId: string;
  role: ApiKeyRole;
  /** Per-key API rate limit (requests per minute), or null for the default. */
  rateLimitPerMinute: number | null;
}

/** Whether the principal may read or write links of the given account (admins: every account). */
export function canAccessAccount(principal: Principal, accountId: string): boolean {
  return principal.role === 'admin' || principal.accountId === accountId;
}

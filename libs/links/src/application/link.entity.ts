import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Redirect statuses a link may ask for (RFC 9110 section 15.4). */
export type RedirectType = 301 | 302 | 307 | 308;
export const REDIRECT_TYPES: readonly RedirectType[] = [301, 302, 307, 308];

/** bigint columns arrive from pg as strings; these stay far below 2^53. */
const bigintAsNumber = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * A short link: `code` is unique per `domain`; the row stays after deletion
 * (`deletedAt`) so the code is never handed to another account.
 */
@Entity({ name: 'links' })
export class LinkEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text' })
  domain: string;

  @Column({ type: 'text' })
  code: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId: string;

  /** The WHATWG URL serialization of the target, served byte for byte. */
  @Column({ type: 'text' })
  target: string;

  @Column({ type: 'text', nullable: true })
  title: string | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags: string[];

  @Column({ name: 'redirect_type', type: 'smallint', default: 302 })
  redirectType: RedirectType;

  @Column({ name: 'forward_query', type: 'boolean', default: true })
  forwardQuery: boolean;

  @Column({ name: 'is_alias', type: 'boolean' })
  isAlias: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'max_clicks', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  maxClicks: number | null;

  /** Redirects consumed against `maxClicks`, updated atomically by the redirect. */
  @Column({ name: 'clicks_consumed', type: 'bigint', default: 0, transformer: bigintAsNumber })
  clicksConsumed: number;

  /** Clicks committed to rollups by the worker (human and bot). */
  @Column({ name: 'click_total', type: 'bigint', default: 0, transformer: bigintAsNumber })
  clickTotal: number;

  /** Set by the expiry job once `expiresAt` has passed (the redirect does not wait for it). */
  @Column({ name: 'expired_at', type: 'timestamptz', nullable: true })
  expiredAt: Date | null;

  /** Set when the link is disabled, e.g. its host was blocklisted; answers 410. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

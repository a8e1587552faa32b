import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Roles per key (docs/design.md section 4): admin everything, member read/write own links, read_only read own links. */
export type ApiKeyRole = 'admin' | 'member' | 'read_only';
export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'member', 'read_only'];

/**
 * An API key: a public prefix (looked up) and a secret stored only as
 * HMAC-SHA-256(pepper, secret) (docs/design.md section 9).
 */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId: string;

  @Column({ type: 'text', unique: true })
  prefix: string;

  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash: Buffer;

  @Column({ type: 'text' })
  role: ApiKeyRole;

  @Column({ type: 'text' })
  name: string;

  /** Per-key API rate limit in requests per minute; null uses the configured default. */
  @Column({ name: 'rate_limit_per_minute', type: 'integer', nullable: true })
  rateLimitPerMinute: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}

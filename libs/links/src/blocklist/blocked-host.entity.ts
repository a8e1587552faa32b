import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A host on the blocklist managed through the admin API (the configured
 * `BLOCKED_HOSTS` are not stored). Blocks the host and its subdomains.
 */
@Entity({ name: 'blocked_hosts' })
export class BlockedHostEntity {
  /** Canonical form: lower case, IDNA A-labels, no port, no trailing dot. */
  @PrimaryColumn({ type: 'text' })
  host: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  /** The admin key that added it. */
  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}

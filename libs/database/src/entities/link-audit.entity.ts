import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** What a link audit row records. */
export type LinkAuditAction = 'create' | 'update' | 'delete';
export const LINK_AUDIT_ACTIONS: readonly LinkAuditAction[] = ['create', 'update', 'delete'];

/**
 * One change of a link, written in the transaction of the change: who (the
 * API key and its account), what (the link's state before and after), when.
 */
@Entity({ name: 'link_audit' })
export class LinkAuditEntity {
  /** Increasing: the keyset of the newest-first listing. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'link_id', type: 'bigint' })
  linkId: string;

  @Column({ type: 'text' })
  domain: string;

  @Column({ type: 'text' })
  code: string;

  /** The account owning the link. */
  @Column({ name: 'link_account_id', type: 'uuid' })
  linkAccountId: string;

  @Column({ name: 'actor_key_id', type: 'uuid' })
  actorKeyId: string;

  @Column({ name: 'actor_account_id', type: 'uuid' })
  actorAccountId: string;

  @Column({ type: 'text' })
  action: LinkAuditAction;

  /** The link before the change; null for a create. */
  @Column({ type: 'jsonb', nullable: true })
  before: Record<string, unknown> | null;

  @Column({ type: 'jsonb' })
  after: Record<string, unknown>;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;
}

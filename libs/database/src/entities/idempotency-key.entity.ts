import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A stored response for an `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header),
 * scoped to the account, written in the same transaction as the effect it records.
 */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'account_id', type: 'uuid' })
  accountId: string;

  @PrimaryColumn({ type: 'text' })
  key: string;

  /** SHA-256 of method, route and canonical body: a reuse with another request is refused. */
  @Column({ name: 'request_hash', type: 'bytea' })
  requestHash: Buffer;

  @Column({ name: 'status_code', type: 'smallint' })
  statusCode: number;

  @Column({ name: 'response_body', type: 'jsonb' })
  responseBody: unknown;

  /** The response's JSON text as sent (schema 4); replays use it, as jsonb reorders keys. Null in older rows. */
  @Column({ name: 'response_text', type: 'text', nullable: true })
  responseText: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}

import { MigrationInterface, QueryRunner } from 'typeorm';
import { setSchemaCompatibility } from '../migration/schema-compatibility';

/**
 * Byte-identical idempotent replays, schema version 4: `response_text` keeps
 * the stored response's JSON text as it was sent. `response_body` is jsonb,
 * which reorders object keys (shorter keys first), so a replay rebuilt from
 * it listed the members in another order than the first response.
 *
 * Expand step (docs/design.md section 8): a nullable column without a default, so
 * no rewrite and only a brief lock; code of schema version 3 keeps writing and
 * reading `response_body` alone (minCodeVersion stays 1), and this code writes
 * both and replays from `response_text` when a row has it. The contract step,
 * dropping `response_body`, belongs to a release after every version-3 pod is
 * gone and the rows they wrote have expired (24 hours).
 */
export class IdempotencyResponseText1764700000000 implements MigrationInterface {
  name = 'IdempotencyResponseText1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE idempotency_keys ADD COLUMN response_text text`);
    await setSchemaCompatibility(q, { version: 4, minCodeVersion: 1 });
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE idempotency_keys DROP COLUMN response_text`);
    await setSchemaCompatibility(q, { version: 3, minCodeVersion: 1 });
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A small partial index for housekeeping: deleted links whose analytics are
 * not purged yet (the purge resets `click_total` to 0, which takes the link
 * out of the index). `links` is populated, so the index is built
 * CONCURRENTLY, outside a transaction, and can be rerun after a failed build.
 * Schema compatibility is unchanged (an index only).
 */
export class LinksDeletedAnalyticsIndex1764500000001 implements MigrationInterface {
  name = 'LinksDeletedAnalyticsIndex1764500000001';
  transaction = false as const;

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS links_deleted_with_clicks_idx ON links (deleted_at) WHERE deleted_at IS NOT NULL AND click_total > 0`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS links_deleted_with_clicks_idx`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';
import { setSchemaCompatibility } from '../migration/schema-compatibility';

/**
 * Accounts, API keys, links (with the domain column from the start), the code
 * sequence and idempotency keys. Schema version 1.
 */
export class InitialSchema1764400000000 implements MigrationInterface {
  name = 'InitialSchema1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`
      CREATE TABLE schema_compatibility (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        version integer NOT NULL,
        min_code_version integer NOT NULL
      )`);
    await q.query(`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL REFERENCES accounts (id),
        prefix text NOT NULL,
        secret_hash bytea NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'member', 'read_only')),
        name text NOT NULL,
        rate_limit_per_minute integer CHECK (rate_limit_per_minute >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
      )`);
    await q.query(`CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at)`);
    // Generated codes: sequence values in [0, 62^7) go through a keyed permutation.
    await q.query(`CREATE SEQUENCE link_code_seq AS bigint MINVALUE 0 MAXVALUE 3521614606207 START WITH 0 NO CYCLE`);
    await q.query(`
      CREATE TABLE links (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        domain text NOT NULL,
        code text NOT NULL,
        account_id uuid NOT NULL REFERENCES accounts (id),
        target text NOT NULL,
        title text,
        tags text[] NOT NULL DEFAULT '{}',
        redirect_type smallint NOT NULL DEFAULT 302 CHECK (redirect_type IN (301, 302, 307, 308)),
        forward_query boolean NOT NULL DEFAULT true,
        is_alias boolean NOT NULL,
        expires_at timestamptz,
        max_clicks bigint CHECK (max_clicks > 0),
        clicks_consumed bigint NOT NULL DEFAULT 0,
        click_total bigint NOT NULL DEFAULT 0,
        expired_at timestamptz,
        disabled_at timestamptz,
        deleted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT links_domain_code_key UNIQUE (domain, code)
      )`);
    // Keyset pagination per account on (created_at, id), newest first.
    await q.query(`CREATE INDEX links_account_created_idx ON links (account_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX links_tags_idx ON links USING gin (tags)`);
    // Substring search in target and title (ILIKE '%text%') through trigrams.
    await q.query(`CREATE INDEX links_search_idx ON links USING gin ((target || ' ' || coalesce(title, '')) gin_trgm_ops)`);
    // The expiry job scans links that have an expiry but are not yet marked.
    await q.query(`CREATE INDEX links_pending_expiry_idx ON links (expires_at) WHERE expires_at IS NOT NULL AND expired_at IS NULL AND deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        account_id uuid NOT NULL,
        key text NOT NULL,
        request_hash bytea NOT NULL,
        status_code smallint NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`);
    await setSchemaCompatibility(q, { version: 1, minCodeVersion: 1 });
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys, links, api_keys, accounts, schema_compatibility`);
    await q.query(`DROP SEQUENCE link_code_seq`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';
import { setSchemaCompatibility } from '../migration/schema-compatibility';

/**
 * Abuse protection (docs/design.md section 9), schema version 3. Two new tables,
 * so their indexes need no CONCURRENTLY; additive, so older code keeps
 * working (minCodeVersion stays 1).
 *
 * - `blocked_hosts`: the host blocklist managed through the admin API, on top
 *   of the configured `BLOCKED_HOSTS`. `host` is canonical (lower case, IDNA
 *   A-labels, no trailing dot); an entry blocks the host and its subdomains.
 * - `link_audit`: one row per link change (create, update, delete), written
 *   in the transaction of the change: who (API key and its account), what
 *   (the link's state before and after, JSON), when. Ids are increasing, so
 *   they are the keyset of the newest-first listing. No foreign keys: the
 *   trail outlives whatever it names.
 */
export class BlocklistAndAudit1764600000000 implements MigrationInterface {
  name = 'BlocklistAndAudit1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE blocked_hosts (
        host text NOT NULL,
        reason text,
        created_by_key_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT blocked_hosts_pkey PRIMARY KEY (host),
        CONSTRAINT blocked_hosts_host_check CHECK (length(host) BETWEEN 1 AND 253),
        CONSTRAINT blocked_hosts_reason_check CHECK (length(reason) <= 500)
      )`);
    await q.query(`
      CREATE TABLE link_audit (
        id bigint GENERATED ALWAYS AS IDENTITY,
        link_id bigint NOT NULL,
        domain text NOT NULL,
        code text NOT NULL,
        link_account_id uuid NOT NULL,
        actor_key_id uuid NOT NULL,
        actor_account_id uuid NOT NULL,
        action text NOT NULL,
        before jsonb,
        after jsonb NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT link_audit_pkey PRIMARY KEY (id),
        CONSTRAINT link_audit_action_check CHECK (action IN ('create', 'update', 'delete'))
      )`);
    // The trail of one link, newest first.
    await q.query(`CREATE INDEX link_audit_link_idx ON link_audit (domain, code, id DESC)`);
    await setSchemaCompatibility(q, { version: 3, minCodeVersion: 1 });
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE link_audit, blocked_hosts`);
    await setSchemaCompatibility(q, { version: 2, minCodeVersion: 1 });
  }
}

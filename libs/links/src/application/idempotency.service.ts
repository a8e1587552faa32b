import { Injectable } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { problem } from '@shortener/http';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';

/** A response to store and replay. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** How long a key is remembered (docs/design.md section 3). */
export const IDEMPOTENCY_RETENTION_HOURS = 24;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** Keys deleted per statement and statements per {@link IdempotencyService.pruneExpired} call: each call is bounded; the next continues. */
const PRUNE_CHUNK = 5_000;
const PRUNE_MAX_ROUNDS = 100;
const PRUNE_SQL = `
  DELETE FROM idempotency_keys WHERE (account_id, key) IN (
    SELECT account_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`;

/**
 * `Idempotency-Key` for unsafe requests (draft-ietf-httpapi-idempotency-key-header):
 * scoped to the account, remembered 24 h, stored in the same transaction as
 * the effect so a crash never leaves one without the other. A replay returns
 * the original status and body; the same key with another request is 422; a
 * key whose first request is still running is 409 (a transaction-scoped
 * advisory lock tells, without waiting).
 */
@Injectable()
export class IdempotencyService {
  constructor(private readonly dataSource: DataSource) {}

  /** SHA-256 over the route and the canonical JSON of the body. */
  fingerprint(route: string, body: unknown): Buffer {
    return createHash('sha256').update(route).update('\n').update(canonicalJson(body)).digest();
  }

  /**
   * Runs `work` once per (account, key) and stores its response, or replays
   * the stored one. Without a key, runs `work` in a plain transaction.
   * `fingerprintOf` gives the request's {@link fingerprint}; it is called
   * only when there is a key (hashing a 10 MiB body costs milliseconds).
   * `work` may throw a {@link DomainError}: its problem response is stored
   * and replayed too (the effect is rolled back to a savepoint).
   *
   * @throws DomainError `idempotency-key-invalid`, `idempotency-key-in-flight` (409), `idempotency-key-reused` (422).
   */
  async run(
    accountId: string,
    key: string | undefined,
    fingerprintOf: () => Buffer,
    work: (manager: EntityManager) => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    if (key === undefined) {
      return { ...(await this.dataSource.transaction((m) => work(m))), replayed: false };
    }
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError('idempotency-key-invalid', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    const fingerprint = fingerprintOf();
    return this.dataSource.transaction(async (m) => {
      const [{ locked }] = await m.query('SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS locked', [accountId, key]);
      if (!locked) throw new DomainError('idempotency-key-in-flight', 'Retry once the first request with this key has finished');
      const rows: { request_hash: Buffer; status_code: number; response_body: unknown; response_text: string | null }[] = await m.query(
        `SELECT request_hash, status_code, response_body, response_text FROM idempotency_keys
          WHERE account_id = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)`,
        [accountId, key, IDEMPOTENCY_RETENTION_HOURS],
      );
      if (rows.length > 0) {
        if (!rows[0].request_hash.equals(fingerprint)) {
          throw new DomainError('idempotency-key-reused', 'This Idempotency-Key was already used with a different request');
        }
        // The text as first sent (parsing keeps its member order); rows written before schema 4 have only the jsonb.
        const { response_text: text, response_body: stored } = rows[0];
        return { status: rows[0].status_code, body: text === null ? stored : JSON.parse(text), replayed: true };
      }
      await m.query('SAVEPOINT idempotent_work');
      let response: StoredResponse;
      try {
        response = await work(m);
        await m.query('RELEASE SAVEPOINT idempotent_work');
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        await m.query('ROLLBACK TO SAVEPOINT idempotent_work');
        const body = problem(error.code, error.detail, error.extensions);
        response = { status: body.status, body };
      }
      await m.query(
        `INSERT INTO idempotency_keys (account_id, key, request_hash, status_code, response_body, response_text)
         VALUES ($1, $2, $3, $4, $5::text::jsonb, $5::text)
         ON CONFLICT (account_id, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
               response_body = EXCLUDED.response_body, response_text = EXCLUDED.response_text, created_at = now()`,
        [accountId, key, fingerprint, response.status, JSON.stringify(response.body)],
      );
      return { ...response, replayed: false };
    });
  }

  /**
   * Deletes keys remembered longer than {@link IDEMPOTENCY_RETENTION_HOURS}
   * before `now` (epoch ms), at most 500,000 per call in statements of
   * 5,000 (autocommit, so no long lock); returns how many went.
   * @throws when PostgreSQL fails (what was deleted stays deleted).
   */
  async pruneExpired(now: number): Promise<number> {
    const before = new Date(now - IDEMPOTENCY_RETENTION_HOURS * 3_600_000);
    let total = 0;
    for (let round = 0; round < PRUNE_MAX_ROUNDS; round += 1) {
      const [, deleted] = await this.dataSource.query<[unknown, number]>(PRUNE_SQL, [before, PRUNE_CHUNK]);
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
    }
    return total;
  }
}

/** JSON with object keys sorted, so equal bodies give equal fingerprints whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined for undefined, a function or a symbol, whatever lib.d.ts says.
    const text = JSON.stringify(value) as string | undefined;
    return text ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

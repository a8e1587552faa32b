import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { DatabaseConnector, PgPools } from '@shortener/database';
import { ApiKeyRecord, ApiKeyRole } from './api-key.record';
import { InvalidationBus, InvalidationMessage } from '@shortener/redis';
import { LRUCache } from 'lru-cache';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { generateApiKey, parseApiKey } from './api-key.format';
import { Principal } from './principal';

/** A minted key: the only time the full key is visible. */
export interface MintedApiKey {
  key: string;
  entity: ApiKeyRecord;
}

const LOAD_KEY_SQL = 'SELECT id, account_id, secret_hash, role, rate_limit_per_minute FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL';
const KEY_COLUMNS = 'id, account_id, prefix, secret_hash, role, name, rate_limit_per_minute, created_at, revoked_at';
const ACCOUNT_EXISTS_SQL = 'SELECT 1 FROM accounts WHERE id = $1';
const INSERT_ACCOUNT_SQL = 'INSERT INTO accounts (name) VALUES ($1) RETURNING id';
const INSERT_KEY_SQL = `INSERT INTO api_keys (account_id, prefix, secret_hash, role, name, rate_limit_per_minute)
  VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${KEY_COLUMNS}`;
const LIST_KEYS_SQL = `SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC LIMIT 1000`;
const KEY_BY_ID_SQL = `SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`;
const KEY_BY_PREFIX_SQL = `SELECT ${KEY_COLUMNS} FROM api_keys WHERE prefix = $1`;
const REVOKE_SQL = 'UPDATE api_keys SET revoked_at = $2 WHERE id = $1';
const REKEY_SQL = "UPDATE api_keys SET secret_hash = $2, revoked_at = NULL, role = 'admin' WHERE id = $1";

/** A row of {@link KEY_COLUMNS}. */
interface ApiKeyRow {
  id: string;
  account_id: string;
  prefix: string;
  secret_hash: Buffer;
  role: ApiKeyRole;
  name: string;
  rate_limit_per_minute: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** A stored key from a row of {@link KEY_COLUMNS}. */
function toRecord(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    prefix: r.prefix,
    secretHash: r.secret_hash,
    role: r.role,
    name: r.name,
    rateLimitPerMinute: r.rate_limit_per_minute,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/** At most this many keys in each process's cache (least recently used go first). */
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * What the cache holds for a live (unrevoked) key: its stored HMAC, never a
 * verdict, so the secret is still checked on every request.
 */
interface StoredApiKey {
  secretHash: Buffer;
  principal: Principal;
}

/**
 * API keys (docs/design.md section 9): minted as prefix + secret and shown once,
 * stored as HMAC-SHA-256(pepper, secret), looked up by prefix, compared in
 * constant time on every request.
 *
 * Lookups are cached in-process: prefix -> stored hash, account, role and
 * limit of an unrevoked key, at most {@link API_KEY_CACHE_MAX_ENTRIES}, each
 * for `API_KEY_CACHE_TTL_MS` (a safety net; 0 turns the cache off). Unknown
 * and revoked prefixes are not cached. Revocation (and the bootstrap re-key)
 * publishes `{ kind: 'api-key', prefix }` on the {@link InvalidationBus}
 * after it commits: the revoking process evicts the key before it answers,
 * every other process when the message arrives; `all` and `reset` (a bus
 * reconnect) clear the cache. A lookup that was running when a key
 * invalidation arrived is not cached (it may have read the row before the
 * change committed). Concurrent misses for one prefix share one query.
 */
@Injectable()
export class ApiKeyService implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeyService.name);
  private readonly cache: LRUCache<string, StoredApiKey> | null;
  private readonly inflight = new Map<string, Promise<StoredApiKey | null>>();
  /** Bumped by every key invalidation: a lookup that started before one is not cached. */
  private epoch = 0;
  private unsubscribe?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly bus: InvalidationBus,
    private readonly connector: DatabaseConnector,
    private readonly pools: PgPools,
  ) {
    const ttl = config.security.apiKeyCacheTtlMs;
    this.cache = ttl > 0 ? new LRUCache<string, StoredApiKey>({ max: API_KEY_CACHE_MAX_ENTRIES, ttl }) : null;
  }

  onModuleInit(): void {
    this.unsubscribe = this.bus.subscribe((m) => {
      this.onInvalidation(m);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** HMAC-SHA-256 of the secret under the server-side pepper. */
  hash(secret: string): Buffer {
    return createHmac('sha256', this.config.security.apiKeyPepper).update(secret).digest();
  }

  /**
   * The principal of a bearer token, or null when it is malformed, unknown,
   * revoked or its secret does not match (HMAC of the given secret compared
   * with the stored one in constant time, on every call, cached or not).
   * @throws when PostgreSQL fails on a cache miss.
   */
  async authenticate(token: string): Promise<Principal | null> {
    const parsed = parseApiKey(token);
    if (!parsed) return null;
    const stored = this.cache?.get(parsed.prefix) ?? (await this.lookup(parsed.prefix));
    if (!stored) return null;
    const given = this.hash(parsed.secret);
    if (given.length !== stored.secretHash.length || !timingSafeEqual(given, stored.secretHash)) return null;
    return { ...stored.principal };
  }

  /** The unrevoked key of a prefix from PostgreSQL, through the cache and coalesced when it is on. */
  private lookup(prefix: string): Promise<StoredApiKey | null> {
    if (!this.cache) return this.load(prefix);
    const pending = this.inflight.get(prefix);
    if (pending) return pending;
    const startEpoch = this.epoch;
    const settle = () => {
      if (this.inflight.get(prefix) === lookup) this.inflight.delete(prefix);
    };
    const lookup = this.load(prefix).then(
      (stored) => {
        settle();
        if (stored && this.epoch === startEpoch) this.cache?.set(prefix, stored);
        return stored;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.inflight.set(prefix, lookup);
    return lookup;
  }

  /**
   * The unrevoked key of a prefix, from the primary (a revocation is seen at
   * once), by a prepared statement: wrong keys arrive by the thousand, and
   * building the query through the ORM cost more than running it.
   */
  private async load(prefix: string): Promise<StoredApiKey | null> {
    const { rows } = await this.pools.write.query({ name: 'shortener_load_api_key', text: LOAD_KEY_SQL, values: [prefix] });
    const row = rows[0] as { id: string; account_id: string; secret_hash: Buffer; role: ApiKeyRole; rate_limit_per_minute: number | null } | undefined;
    if (!row) return null;
    return {
      secretHash: row.secret_hash,
      principal: {
        keyId: row.id,
        prefix,
        accountId: row.account_id,
        role: row.role,
        rateLimitPerMinute: row.rate_limit_per_minute,
      },
    };
  }

  private onInvalidation(m: InvalidationMessage): void {
    if (m.kind === 'api-key') {
      this.epoch += 1;
      this.cache?.delete(m.prefix);
      this.inflight.delete(m.prefix);
    } else if (m.kind === 'all' || m.kind === 'reset') {
      this.epoch += 1;
      this.cache?.clear();
      this.inflight.clear();
    }
  }

  /**
   * Mints a key for an existing account, or for a new account named `accountName`.
   * @throws DomainError `validation-failed` when the account does not exist.
   */
  async mint(input: { name: string; role: ApiKeyRole; accountId?: string; accountName?: string; rateLimitPerMinute?: number | null }): Promise<MintedApiKey> {
    return this.dataSource.transaction(async (m) => {
      let accountId = input.accountId;
      if (accountId) {
        const found = await m.query<unknown[]>(ACCOUNT_EXISTS_SQL, [accountId]);
        if (found.length === 0) throw new DomainError('validation-failed', `account ${accountId} does not exist`);
      } else {
        accountId = await insertAccount(m, input.accountName ?? input.name);
      }
      const generated = generateApiKey();
      const entity = await insertKey(m, {
        accountId,
        prefix: generated.prefix,
        secretHash: this.hash(generated.secret),
        role: input.role,
        name: input.name,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      });
      return { key: generated.key, entity };
    });
  }

  /** Keys, newest first, without secrets. Admins list every account's keys. */
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.dataSource.query<ApiKeyRow[]>(LIST_KEYS_SQL)).map(toRecord);
  }

  /**
   * Revokes a key at once: after the update commits, the key leaves this
   * process's cache before this returns, and every other process's when the
   * bus message arrives (published again for a key already revoked, in case
   * the first message was lost).
   * @throws DomainError `api-key-not-found`.
   */
  async revoke(id: string): Promise<ApiKeyRecord> {
    const row = (await this.dataSource.query<ApiKeyRow[]>(KEY_BY_ID_SQL, [id])).at(0);
    if (!row) throw new DomainError('api-key-not-found', `no API key with id ${id}`);
    const entity = toRecord(row);
    if (!entity.revokedAt) {
      entity.revokedAt = new Date();
      await this.dataSource.query(REVOKE_SQL, [id, entity.revokedAt]);
    }
    await this.bus.publish({ kind: 'api-key', prefix: entity.prefix });
    return entity;
  }

  /**
   * Creates (or re-keys) the admin key named by `BOOTSTRAP_ADMIN_KEY`, so a
   * fresh install is usable: once PostgreSQL is connected, as startup work
   * the process is not ready without (see DatabaseConnector).
   */
  onApplicationBootstrap(): void {
    const raw = this.config.security.bootstrapAdminKey;
    if (!raw) return;
    const parsed = parseApiKey(raw);
    if (!parsed) {
      this.logger.error('BOOTSTRAP_ADMIN_KEY is not shaped like sk_<prefix>_<secret>; no admin key was created');
      return;
    }
    this.connector.runOnceConnected('bootstrap admin key', () => this.bootstrapAdminKey(parsed));
  }

  private async bootstrapAdminKey(parsed: { prefix: string; secret: string }): Promise<void> {
    const secretHash = this.hash(parsed.secret);
    const rekeyed = await this.dataSource.transaction(async (m): Promise<boolean> => {
      // Serialises concurrent boots of several pods.
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`bootstrap-admin:${parsed.prefix}`]);
      const row = (await m.query<ApiKeyRow[]>(KEY_BY_PREFIX_SQL, [parsed.prefix])).at(0);
      if (row) {
        const existing = toRecord(row);
        if (!existing.secretHash.equals(secretHash) || existing.revokedAt) {
          await m.query(REKEY_SQL, [existing.id, secretHash]);
          return true;
        }
        return false;
      }
      await insertKey(m, {
        accountId: await insertAccount(m, 'admin'),
        prefix: parsed.prefix,
        secretHash,
        role: 'admin',
        name: 'bootstrap admin',
        rateLimitPerMinute: null,
      });
      return false;
    });
    // Running processes may cache the old secret's hash: they drop it now.
    if (rekeyed) await this.bus.publish({ kind: 'api-key', prefix: parsed.prefix });
  }
}

/** Creates an account named `name` in the transaction of `m`; returns its id. */
async function insertAccount(m: EntityManager, name: string): Promise<string> {
  const [row] = await m.query<{ id: string }[]>(INSERT_ACCOUNT_SQL, [name]);
  return row.id;
}

/** Stores a new key in the transaction of `m`. */
async function insertKey(m: EntityManager, key: Omit<ApiKeyRecord, 'id' | 'createdAt' | 'revokedAt'>): Promise<ApiKeyRecord> {
  const [row] = await m.query<ApiKeyRow[]>(INSERT_KEY_SQL, [key.accountId, key.prefix, key.secretHash, key.role, key.name, key.rateLimitPerMinute]);
  return toRecord(row);
}

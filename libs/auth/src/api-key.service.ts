import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { AccountEntity, ApiKeyEntity, ApiKeyRole } from '@shortener/database';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DataSource, IsNull, Repository } from 'typeorm';
import { generateApiKey, parseApiKey } from './api-key.format';
import { Principal } from './principal';

/** A minted key: the only time the full key is visible. */
export interface MintedApiKey {
  key: string;
  entity: ApiKeyEntity;
}

/**
 * API keys (DESIGN.md section 9): minted as prefix + secret and shown once,
 * stored as HMAC-SHA-256(pepper, secret), looked up by prefix, compared in
 * constant time. Revocation takes effect on the next request on every process
 * because keys are read from PostgreSQL on each request (one indexed lookup).
 */
@Injectable()
export class ApiKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeyService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly dataSource: DataSource,
  ) {}

  /** HMAC-SHA-256 of the secret under the server-side pepper. */
  hash(secret: string): Buffer {
    return createHmac('sha256', this.config.security.apiKeyPepper).update(secret).digest();
  }

  /**
   * The principal of a bearer token, or null when it is malformed, unknown,
   * revoked or its secret does not match.
   */
  async authenticate(token: string): Promise<Principal | null> {
    const parsed = parseApiKey(token);
    if (!parsed) return null;
    const entity = await this.keys.findOne({ where: { prefix: parsed.prefix, revokedAt: IsNull() } });
    if (!entity) return null;
    const given = this.hash(parsed.secret);
    if (given.length !== entity.secretHash.length || !timingSafeEqual(given, entity.secretHash)) return null;
    return {
      keyId: entity.id,
      prefix: entity.prefix,
      accountId: entity.accountId,
      role: entity.role,
      rateLimitPerMinute: entity.rateLimitPerMinute,
    };
  }

  /**
   * Mints a key for an existing account, or for a new account named `accountName`.
   * @throws DomainError `validation-failed` when the account does not exist.
   */
  async mint(input: { name: string; role: ApiKeyRole; accountId?: string; accountName?: string; rateLimitPerMinute?: number | null }): Promise<MintedApiKey> {
    return this.dataSource.transaction(async (m) => {
      let accountId = input.accountId;
      if (accountId) {
        const exists = await m.getRepository(AccountEntity).existsBy({ id: accountId });
        if (!exists) throw new DomainError('validation-failed', `account ${accountId} does not exist`);
      } else {
        const account = await m.getRepository(AccountEntity).save({ name: input.accountName ?? input.name });
        accountId = account.id;
      }
      const generated = generateApiKey();
      const entity = await m.getRepository(ApiKeyEntity).save({
        accountId,
        prefix: generated.prefix,
        secretHash: this.hash(generated.secret),
        role: input.role,
        name: input.name,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        revokedAt: null,
      });
      return { key: generated.key, entity };
    });
  }

  /** Keys, newest first, without secrets. Admins list every account's keys. */
  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC', id: 'DESC' }, take: 1000 });
  }

  /**
   * Revokes a key at once.
   * @throws DomainError `api-key-not-found`.
   */
  async revoke(id: string): Promise<ApiKeyEntity> {
    const entity = await this.keys.findOneBy({ id });
    if (!entity) throw new DomainError('api-key-not-found', `no API key with id ${id}`);
    if (!entity.revokedAt) {
      entity.revokedAt = new Date();
      await this.keys.update({ id }, { revokedAt: entity.revokedAt });
    }
    return entity;
  }

  /** Creates (or re-keys) the admin key named by `BOOTSTRAP_ADMIN_KEY`, so a fresh install is usable. */
  async onApplicationBootstrap(): Promise<void> {
    const raw = this.config.security.bootstrapAdminKey;
    if (!raw) return;
    const parsed = parseApiKey(raw);
    if (!parsed) {
      this.logger.error('BOOTSTRAP_ADMIN_KEY is not shaped like sk_<prefix>_<secret>; no admin key was created');
      return;
    }
    const secretHash = this.hash(parsed.secret);
    await this.dataSource.transaction(async (m) => {
      // Serialises concurrent boots of several pods.
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`bootstrap-admin:${parsed.prefix}`]);
      const repo = m.getRepository(ApiKeyEntity);
      const existing = await repo.findOneBy({ prefix: parsed.prefix });
      if (existing) {
        if (!existing.secretHash.equals(secretHash) || existing.revokedAt) {
          await repo.update({ id: existing.id }, { secretHash, revokedAt: null, role: 'admin' });
        }
        return;
      }
      const account = await m.getRepository(AccountEntity).save({ name: 'admin' });
      await repo.save({ accountId: account.id, prefix: parsed.prefix, secretHash, role: 'admin', name: 'bootstrap admin', rateLimitPerMinute: null, revokedAt: null });
    });
  }
}

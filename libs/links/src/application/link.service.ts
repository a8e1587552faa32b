import { Inject, Injectable } from '@nestjs/common';
import { Principal, canAccessAccount } from '@shortener/auth';
import { Clock, DomainError } from '@shortener/common';
import { problem } from '@shortener/http';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { MetricsService } from '@shortener/observability';
import { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { LinkAuditService } from '../audit/link-audit.service';
import { normalizeAlias } from '../domain/alias';
import { ShortCodeGenerator } from '../domain/short-code';
import { LinkCacheService } from '../redirect/link-cache.service';
import { IdempotencyService, StoredResponse } from './idempotency.service';
import { decodeCursor, encodeCursor } from './link-cursor';
import { LinkResponse, presentLink } from './link.presenter';
import { AuditActor, CREATE_BATCH_MAX, LinkChanges, LinkRepository, LinkRow, NewLink, PendingCreate } from './link.repository';
import { BulkCreateLinksInput, CreateLinkInput, linkPageSchema, ListLinksInput, RefusedBulkItem, UpdateLinkInput } from './link.schemas';
import { ShortDomains } from './short-domains';
import { TargetPolicyService } from './target-policy.service';

/** Tries of the next sequence value when a generated code clashes with an alias (docs/design.md section 4). */
const MAX_CODE_ATTEMPTS = 16;

/** A create that passed its checks ({@link LinkService.prepare}): its link without a code, the alias it asks for (normalized) or null, and who makes it. */
interface PreparedCreate {
  link: Omit<NewLink, 'code' | 'isAlias'>;
  alias: string | null;
  actor: AuditActor;
}

/** The 409 of an alias in use. A deleted link keeps its code (and its analytics) for good: a code is never reused, not even by its account. */
function aliasTaken(alias: string, domainHost: string): DomainError {
  return new DomainError('alias-taken', `The alias ${alias} is already taken on ${domainHost}, or was used by a deleted link`, { alias });
}

/** A page of links: {@link linkPageSchema}. */
export type LinkPage = z.output<typeof linkPageSchema>;

/**
 * Creating, reading, updating and deleting links (docs/design.md sections 3-4).
 * Every write invalidates the redirect caches of every process after it commits,
 * and is recorded in the audit trail inside its own transaction (a create
 * without an Idempotency-Key: inside the statement that inserts it).
 */
@Injectable()
export class LinkService {
  private readonly codes: ShortCodeGenerator;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repo: LinkRepository,
    private readonly domains: ShortDomains,
    private readonly targets: TargetPolicyService,
    private readonly idempotency: IdempotencyService,
    private readonly cache: LinkCacheService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly dataSource: DataSource,
    private readonly audit: LinkAuditService,
  ) {
    this.codes = new ShortCodeGenerator(config.links.codePermutationKey);
  }

  /**
   * Creates a link, once per `Idempotency-Key`. Without a key the link and
   * its audit record are written by one statement in autocommit, shared with
   * the other creates of the same event-loop turn (see
   * {@link LinkRepository.insertIfAbsentAudited}; sequence values come from a
   * per-process block, {@link LinkRepository.nextCodeSequence}); with a key,
   * a statement of its own in the key's transaction.
   * @returns status 201 and the link; with a key, the stored response (which
   *   may be a problem: errors are remembered too) and whether it was replayed.
   * @throws DomainError for invalid input (400), a taken alias (409) and idempotency conflicts.
   */
  async create(principal: Principal, input: CreateLinkInput, idempotencyKey?: string): Promise<StoredResponse & { replayed: boolean }> {
    let created: LinkRow | undefined;
    let result: StoredResponse & { replayed: boolean };
    if (idempotencyKey === undefined) {
      created = await this.insert(null, principal, input);
      result = { status: 201, body: presentLink(created, this.domains.byName(created.domain), this.clock.now()), replayed: false };
    } else {
      const fingerprintOf = () => this.idempotency.fingerprint('POST /api/v1/links', input);
      result = await this.idempotency.run(principal.accountId, idempotencyKey, fingerprintOf, async (m) => {
        created = await this.insert(m, principal, input);
        return { status: 201, body: presentLink(created, this.domains.byName(created.domain), this.clock.now()) };
      });
    }
    if (created && !result.replayed) {
      this.metrics.linksCreated.labels(created.domain).inc();
      // A negative cache entry for this code may exist.
      await this.cache.invalidate(created.domain, created.code);
    }
    return result;
  }

  /**
   * Creates up to {@link MAX_BULK_ITEMS} links in one transaction; items are
   * independent, so one refusal never undoes another. {@link CREATE_BATCH_MAX}
   * items at a time are checked (their schema, {@link prepare}), then the
   * valid ones inserted by one statement
   * ({@link LinkRepository.insertManyIfAbsentAudited}); nothing is written for
   * an item that is refused. Of two items asking for the same alias, the first gets
   * it. Once per `Idempotency-Key`, like {@link create}. An item its schema
   * refused ({@link RefusedBulkItem}) gets its 400 `validation-failed` problem.
   * @returns status 200 and one result per item, in order: `{ status: 201, link }` or `{ status, problem }`.
   */
  async createBulk(principal: Principal, input: BulkCreateLinksInput, idempotencyKey?: string): Promise<StoredResponse & { replayed: boolean }> {
    const fingerprintOf = () => this.idempotency.fingerprint('POST /api/v1/links/bulk', input);
    const created: LinkRow[] = [];
    const result = await this.idempotency.run(principal.accountId, idempotencyKey, fingerprintOf, async (m) => {
      created.length = 0;
      const now = this.clock.now();
      const results: unknown[] = new Array(input.items.length);
      const refuse = (index: number, error: DomainError) => {
        const body = problem(error.code, error.detail, error.extensions);
        results[index] = { status: body.status, problem: body };
      };
      // (domain, code) pairs claimed by this request: one statement must not hold a pair twice.
      const claimed = new Set<string>();
      // A chunk at a time, checked then inserted: what a chunk makes dies young (a scavenge frees it),
      // where checking all 1,000 items first kept them through several and grew the old space.
      for (let start = 0; start < input.items.length; start += CREATE_BATCH_MAX) {
        let round: { index: number; create: PreparedCreate }[] = [];
        for (let index = start; index < Math.min(start + CREATE_BATCH_MAX, input.items.length); index += 1) {
          const item = input.items[index];
          if (item instanceof RefusedBulkItem) {
            const body = item.problem(index);
            results[index] = { status: body.status, problem: body };
            continue;
          }
          let create: PreparedCreate;
          try {
            create = this.prepare(principal, item);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            refuse(index, error);
            continue;
          }
          if (create.alias !== null) {
            const key = `${create.link.domain}/${create.alias}`;
            if (claimed.has(key)) {
              refuse(index, aliasTaken(create.alias, create.link.domain));
              continue;
            }
            claimed.add(key);
          }
          round.push({ index, create });
        }
        for (let attempt = 0; round.length > 0; attempt += 1) {
          if (attempt >= MAX_CODE_ATTEMPTS) throw new Error(`no free code after ${MAX_CODE_ATTEMPTS} sequence values`);
          const creates: PendingCreate[] = [];
          for (const { create } of round) creates.push({ link: await this.withCode(create, claimed), actor: create.actor });
          const rows = await this.repo.insertManyIfAbsentAudited(m, creates);
          const clashed: typeof round = [];
          round.forEach((entry, i) => {
            const row = rows[i];
            if (row) {
              created.push(row);
              results[entry.index] = { status: 201, link: presentLink(row, this.domains.byName(row.domain), now) };
            } else if (entry.create.alias !== null) {
              refuse(entry.index, aliasTaken(entry.create.alias, entry.create.link.domain));
            } else {
              clashed.push(entry);
            }
          });
          round = clashed;
        }
      }
      return { status: 200, body: { results } };
    });
    if (!result.replayed) {
      for (const row of created) this.metrics.linksCreated.labels(row.domain).inc();
      // A negative cache entry may exist for any of the codes. A chunk at a time: a thousand commands
      // in flight at once held their arguments and promises long enough to reach the old space.
      for (let start = 0; start < created.length; start += CREATE_BATCH_MAX) {
        await Promise.all(created.slice(start, start + CREATE_BATCH_MAX).map((row) => this.cache.invalidate(row.domain, row.code)));
      }
    }
    return result;
  }

  /**
   * Validates and inserts one link with its audit record, in one statement:
   * inside the caller's transaction `m`, or on its own (autocommit) when `m` is null.
   * @throws DomainError for invalid input and a taken alias.
   */
  async insert(m: EntityManager | null, principal: Principal, input: CreateLinkInput): Promise<LinkRow> {
    const create = this.prepare(principal, input);
    if (create.alias !== null) {
      const row = await this.repo.insertIfAbsentAudited(m, { ...create.link, code: create.alias, isAlias: true }, create.actor);
      if (!row) throw aliasTaken(create.alias, create.link.domain);
      return row;
    }
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt += 1) {
      const row = await this.repo.insertIfAbsentAudited(m, await this.withCode(create), create.actor);
      if (row) return row;
    }
    throw new Error(`no free code after ${MAX_CODE_ATTEMPTS} sequence values`);
  }

  /**
   * Checks a create and builds its link, without its code: the short
   * domain, the normalized target (the target policy and blocklist), an
   * expiry in the future, the normalized alias if one is asked for.
   * @throws DomainError for invalid input.
   */
  private prepare(principal: Principal, input: CreateLinkInput): PreparedCreate {
    const domain = this.domains.resolve(input.domain);
    const target = this.targets.normalize(input.url, 'create');
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
    if (expiresAt && expiresAt.getTime() <= this.clock.now()) {
      throw new DomainError('expires-at-past', `expiresAt ${input.expiresAt} is not in the future`);
    }
    const link: PreparedCreate['link'] = {
      domain: domain.host,
      accountId: principal.accountId,
      target,
      title: input.title ?? null,
      tags: [...new Set(input.tags)],
      redirectType: input.redirectType,
      forwardQuery: input.forwardQuery,
      expiresAt,
      maxClicks: input.maxClicks ?? null,
    };
    return {
      link,
      alias: input.alias === undefined ? null : normalizeAlias(input.alias),
      actor: { keyId: principal.keyId, accountId: principal.accountId },
    };
  }

  /**
   * The link of a create with its code: the alias, or the code of the next
   * sequence value (skipping codes in `claimed`, which then holds it too).
   */
  private async withCode(create: PreparedCreate, claimed?: Set<string>): Promise<NewLink> {
    if (create.alias !== null) return { ...create.link, code: create.alias, isAlias: true };
    for (;;) {
      const code = this.codes.codeFor(await this.repo.nextCodeSequence());
      const key = `${create.link.domain}/${code}`;
      if (claimed?.has(key)) continue;
      claimed?.add(key);
      return { ...create.link, code, isAlias: false };
    }
  }

  /**
   * A link of the principal's account (any account for admins).
   * @throws DomainError `link-not-found`, also for another account's link (no existence leak).
   */
  async get(principal: Principal, code: string, domainHost?: string): Promise<LinkResponse> {
    const row = await this.findAccessible(null, principal, code, domainHost);
    return presentLink(row, this.domains.byName(row.domain), this.clock.now());
  }

  /** The short URL of an accessible link (for QR codes). */
  async shortUrlOf(principal: Principal, code: string, domainHost?: string): Promise<string> {
    return (await this.get(principal, code, domainHost)).shortUrl;
  }

  /** A page of links, newest first. Admins see every account. */
  async list(principal: Principal, q: ListLinksInput): Promise<LinkPage> {
    const rows = await this.repo.list({
      accountId: principal.role === 'admin' ? null : principal.accountId,
      limit: q.limit + 1,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
      tag: q.tag,
      state: q.state,
      text: q.q,
    });
    const page = rows.slice(0, q.limit);
    const now = this.clock.now();
    const last = page.at(-1);
    return {
      items: page.map((r) => presentLink(r, this.domains.byName(r.domain), now)),
      nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAtMicros: last.createdAtMicros, id: last.id }) : null,
    };
  }

  /**
   * Applies a JSON Merge Patch (RFC 7396); `disabled` sets or clears
   * `disabled_at`, and every change drops the link from the redirect caches.
   * @throws DomainError `link-not-found`, `link-gone` (deleted), or a validation code.
   */
  async update(principal: Principal, code: string, patch: UpdateLinkInput, domainHost?: string): Promise<LinkResponse> {
    const row = await this.dataSource.transaction(async (m: EntityManager) => {
      const link = await this.findAccessible(m, principal, code, domainHost, true);
      if (link.deletedAt) throw new DomainError('link-gone', 'A deleted link cannot be changed');
      const changes: LinkChanges = {};
      if (patch.url !== undefined) changes.target = this.targets.normalize(patch.url, 'update');
      if (patch.expiresAt !== undefined) {
        changes.expiresAt = patch.expiresAt === null ? null : new Date(patch.expiresAt);
        changes.expiredAt = null;
      }
      if (patch.maxClicks !== undefined) {
        changes.maxClicks = patch.maxClicks;
        // A limit set on a link that had none counts the clicks it already has.
        if (patch.maxClicks !== null && link.maxClicks === null) changes.clicksConsumed = link.clickTotal;
      }
      if (patch.redirectType !== undefined) changes.redirectType = patch.redirectType ?? 302;
      if (patch.forwardQuery !== undefined) changes.forwardQuery = patch.forwardQuery ?? true;
      if (patch.tags !== undefined) changes.tags = [...new Set(patch.tags ?? [])];
      if (patch.title !== undefined) changes.title = patch.title;
      if (patch.disabled !== undefined) {
        const disabled = patch.disabled === true;
        // Disabling a disabled link keeps the instant it was first disabled.
        if (disabled !== (link.disabledAt !== null)) changes.disabledAt = disabled ? new Date(this.clock.now()) : null;
      }
      if (Object.keys(changes).length === 0) return link;
      const updated = await this.repo.update(m, link.id, changes);
      await this.audit.record(m, principal, 'update', link, updated);
      return updated;
    });
    await this.cache.invalidate(row.domain, row.code);
    return presentLink(row, this.domains.byName(row.domain), this.clock.now());
  }

  /**
   * Deletes a link: it answers 410 from now on and its code stays reserved for the account.
   * Deleting a deleted link succeeds again.
   * @throws DomainError `link-not-found`.
   */
  async delete(principal: Principal, code: string, domainHost?: string): Promise<void> {
    const row = await this.dataSource.transaction(async (m: EntityManager) => {
      const link = await this.findAccessible(m, principal, code, domainHost, true);
      if (link.deletedAt) return link;
      const deleted = await this.repo.update(m, link.id, { deletedAt: new Date(this.clock.now()) });
      await this.audit.record(m, principal, 'delete', link, deleted);
      return deleted;
    });
    await this.cache.invalidate(row.domain, row.code);
  }

  private async findAccessible(
    m: EntityManager | null,
    principal: Principal,
    code: string,
    domainHost: string | undefined,
    forUpdate = false,
  ): Promise<LinkRow> {
    const domain = this.domains.resolve(domainHost);
    const row = await this.repo.find(m, domain.host, code.normalize('NFC'), forUpdate);
    if (!row || !canAccessAccount(principal, row.accountId)) {
      throw new DomainError('link-not-found', `No link ${code} on ${domain.host}`);
    }
    return row;
  }
}

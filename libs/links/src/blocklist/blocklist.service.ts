import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Principal } from '@shortener/auth';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { DatabaseConnector } from '@shortener/database';
import { BlockedHostEntity } from './blocked-host.entity';
import { MetricsService } from '@shortener/observability';
import { InvalidationBus } from '@shortener/redis';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { canonicalHost, isHostBlocked } from '../domain/host-name';
import { hostOf } from '../domain/target-url';
import type { RedirectSnapshot } from '../redirect/redirect-snapshot';
import { normalizeBlockedHost } from './blocked-host';

/** A blocklist entry as the admin API shows it: the response schema in the OpenAPI document and the type the service builds. */
export const blocklistEntrySchema = z.object({
  host: z.string().describe('Canonical host (lower case, IDNA A-labels); blocks itself and its subdomains'),
  source: z.enum(['config', 'api']).describe('`config`: from BLOCKED_HOSTS, read-only here; `api`: added through the admin API'),
  reason: z.string().nullable(),
  createdAt: z.string().nullable().describe('RFC 3339 UTC; null for configured entries'),
  createdByKeyId: z.uuid().nullable(),
});
export type BlocklistEntry = z.infer<typeof blocklistEntrySchema>;

/** A safety net beside the bus: a process that missed a message converges within this. */
const REFRESH_INTERVAL_MS = 60_000;

/**
 * The host blocklist (docs/design.md sections 4, 5 and 9): the configured
 * `BLOCKED_HOSTS` plus the `blocked_hosts` table managed by admins. Each
 * entry blocks its host and every subdomain.
 *
 * Every process keeps the whole list in memory. A change is written to
 * PostgreSQL, then announced on the {@link InvalidationBus} (`blocklist`),
 * on which every process reloads the list (also on `reset`, after a lost
 * bus connection, and every minute). So creates and PATCHes are refused
 * (`target-host-blocked`), and the redirect answers 410 for links to a host
 * blocked after they were created, on every process, without a network
 * round trip: the redirect checks the cached snapshot's target host against
 * the in-memory list, with the answer remembered per snapshot object until
 * the list changes. Cached snapshots therefore stay valid and are not
 * dropped (no stampede on PostgreSQL after a blocklist change).
 */
@Injectable()
export class BlocklistService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(BlocklistService.name);
  private readonly configured: readonly string[];
  private stored: BlockedHostEntity[] = [];
  private combined: readonly string[];
  private verdicts = new WeakMap<RedirectSnapshot, boolean>();
  private loading: Promise<void> | null = null;
  private reloadAgain = false;
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private readonly redirectRefusals;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly bus: InvalidationBus,
    metrics: MetricsService,
    private readonly connector: DatabaseConnector,
  ) {
    this.configured = [...new Set(config.links.blockedHosts.map((h) => canonicalHost(h.trim().replace(/^\*\./, ''))).filter((h) => h.length > 0))];
    this.combined = this.configured;
    this.redirectRefusals = metrics.blocklistRefusals.labels('redirect');
  }

  /**
   * Subscribes to the bus and schedules the refresh; the first load is
   * startup work run once PostgreSQL is connected: the process is not ready
   * before it succeeded, so it never serves with the stored entries missing.
   */
  onModuleInit(): void {
    this.unsubscribe = this.bus.subscribe((m) => {
      if (m.kind === 'blocklist' || m.kind === 'reset' || m.kind === 'all') void this.reload();
    });
    this.connector.runOnceConnected('blocklist load', async () => {
      this.apply(await this.loadStored());
    });
    this.timer = setInterval(() => void this.reload(), REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** Every blocked host (configured and stored); a new array whenever the list changes. */
  hosts(): readonly string[] {
    return this.combined;
  }

  /**
   * Whether a cached link must be refused at the redirect because its target
   * host is blocked; counts each refusal in `shortener_blocklist_refusals_total{where="redirect"}`.
   * Free while the list is empty; otherwise one WeakMap lookup per redirect
   * (the target is parsed once per snapshot object and list version).
   */
  blocksRedirect(link: RedirectSnapshot): boolean {
    if (this.combined.length === 0) return false;
    let blocked = this.verdicts.get(link);
    if (blocked === undefined) {
      blocked = this.targetBlocked(link.target);
      this.verdicts.set(link, blocked);
    }
    if (blocked) this.redirectRefusals.inc();
    return blocked;
  }

  /** The list: configured entries first, then stored ones, each by host. */
  async list(): Promise<BlocklistEntry[]> {
    const rows = await this.dataSource.getRepository(BlockedHostEntity).find({ order: { host: 'ASC' } });
    const stored = new Set(rows.map((r) => r.host));
    return [
      ...[...this.configured]
        .filter((host) => !stored.has(host))
        .sort()
        .map((host): BlocklistEntry => ({ host, source: 'config', reason: null, createdAt: null, createdByKeyId: null })),
      ...rows.map(present),
    ];
  }

  /**
   * Blocks a host (and its subdomains) on every process.
   * @returns the entry, and whether it was added (false: it already was stored)
   * @throws DomainError `validation-failed` when `host` is not a host name or IP address
   */
  async add(principal: Principal, host: string, reason: string | null): Promise<{ entry: BlocklistEntry; created: boolean }> {
    const canonical = normalizeBlockedHost(host);
    const repo = this.dataSource.getRepository(BlockedHostEntity);
    const inserted = await repo
      .createQueryBuilder()
      .insert()
      .values({ host: canonical, reason, createdByKeyId: principal.keyId })
      .orIgnore()
      .returning('*')
      .execute();
    const created = (inserted.raw as unknown[]).length > 0;
    const row = await repo.findOneByOrFail({ host: canonical });
    if (created) await this.changed();
    return { entry: present(row), created };
  }

  /**
   * Unblocks a stored host on every process.
   * @throws DomainError `not-found`, or `blocked-host-configured`
   *   when the host comes from `BLOCKED_HOSTS` only (change the configuration).
   */
  async remove(host: string): Promise<void> {
    const canonical = normalizeBlockedHost(host);
    const result = await this.dataSource.getRepository(BlockedHostEntity).delete({ host: canonical });
    if (!result.affected) {
      if (this.configured.includes(canonical)) {
        throw new DomainError('blocked-host-configured', `${canonical} is blocked by the BLOCKED_HOSTS setting, not through this API`);
      }
      throw new DomainError('not-found', `${canonical} is not on the blocklist`);
    }
    await this.changed();
  }

  // The local copy first (the admin's next request sees the change), then every other process.
  private async changed(): Promise<void> {
    await this.reload();
    await this.bus.publish({ kind: 'blocklist' });
  }

  /** Reloads the stored entries; concurrent calls share one load, and a call during a load gets a fresh one after it. */
  private reload(): Promise<void> {
    // Before the first connection the startup load (see onModuleInit) is what loads the list.
    if (!this.connector.isConnected) return Promise.resolve();
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          this.apply(await this.loadStored());
        } catch (e) {
          // Keeps the last list; the next message or the periodic refresh retries.
          this.logger.error(`blocklist reload failed: ${(e as Error).message}`);
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set again by a reload requested while this one awaited
      } while (this.reloadAgain);
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private loadStored(): Promise<BlockedHostEntity[]> {
    return this.dataSource.getRepository(BlockedHostEntity).find({ order: { host: 'ASC' } });
  }

  private apply(rows: BlockedHostEntity[]): void {
    const same = rows.length === this.stored.length && rows.every((r, i) => r.host === this.stored[i].host);
    this.stored = rows;
    if (same) return;
    this.combined = [...new Set([...this.configured, ...rows.map((r) => r.host)])];
    this.verdicts = new WeakMap();
  }

  private targetBlocked(target: string): boolean {
    try {
      return isHostBlocked(hostOf(target), this.combined);
    } catch {
      return false;
    }
  }
}

function present(row: BlockedHostEntity): BlocklistEntry {
  return { host: row.host, source: 'api', reason: row.reason, createdAt: row.createdAt.toISOString(), createdByKeyId: row.createdByKeyId };
}

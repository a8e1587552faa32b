import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import Redis from 'ioredis';
import { CACHE_REDIS, cacheRedisOptions } from './redis-clients';
import { REDIS_KEYS } from './redis-keys';

/**
 * What changed. Every write (create, update, delete, expiry, blocklist change,
 * key revocation) publishes one so every process drops its in-process copies.
 * `reset` is delivered locally when the bus (re)connects: messages may have
 * been missed, so everything must go.
 */
export type InvalidationMessage =
  | { kind: 'link'; domain: string; code: string }
  | { kind: 'api-key'; prefix: string }
  /** The host blocklist changed: reload it (links to a newly blocked host answer 410 at once). */
  | { kind: 'blocklist' }
  | { kind: 'all' }
  | { kind: 'reset' };

export type InvalidationHandler = (message: InvalidationMessage) => void;

/**
 * Redis pub/sub invalidation bus (docs/design.md section 5), on the cache Redis,
 * channel `<REDIS_KEY_PREFIX>invalidation` ({@link REDIS_KEYS}
 * `.invalidationChannel`). Publishing applies the message locally first, so
 * the writing process never serves stale data even when Redis is down.
 *
 * The boot never waits for the subscription: the subscriber connects (and
 * re-subscribes) on its own whenever Redis is reachable. Until the first
 * subscription succeeded ({@link isSubscribed}) the process is not ready
 * (HealthService), so it has served and cached nothing a missed message
 * could have made stale.
 */
@Injectable()
export class InvalidationBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(InvalidationBus.name);
  private readonly handlers = new Set<InvalidationHandler>();
  private readonly channel: string;
  private subscriber?: Redis;
  private connectedOnce = false;
  private subscribedOnce = false;
  private markSubscribed!: () => void;
  /** Resolves once the first SUBSCRIBE succeeded (tests that boot an app in-process wait for it). */
  readonly subscribed = new Promise<void>((resolve) => (this.markSubscribed = resolve));

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_REDIS) private readonly publisher: Redis,
  ) {
    this.channel = REDIS_KEYS.invalidationChannel.key(config.redis);
  }

  onModuleInit(): void {
    // A subscriber connection cannot run other commands; it keeps an offline
    // queue so SUBSCRIBE is re-sent after every reconnect.
    const subscriber = new Redis(this.config.redis.cacheUrl, {
      ...cacheRedisOptions(this.config),
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
      enableAutoPipelining: false,
      connectionName: `shortener-${this.config.role}-bus`,
    });
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        this.deliver(JSON.parse(raw) as InvalidationMessage);
      } catch {
        this.logger.warn(`ignored a malformed invalidation message`);
      }
    });
    subscriber.on('ready', () => {
      // Anything published while we were away is lost: start clean.
      if (this.connectedOnce) this.deliver({ kind: 'reset' });
      this.connectedOnce = true;
    });
    subscriber.on('error', () => undefined);
    // Queued until the first connection (offline queue), then re-sent after every reconnect.
    subscriber.subscribe(this.channel).then(
      () => {
        this.subscribedOnce = true;
        this.markSubscribed();
      },
      (e: unknown) => {
        this.logger.warn(`bus subscribe failed: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  }

  /** Whether the first SUBSCRIBE succeeded (later reconnects re-subscribe on their own). */
  get isSubscribed(): boolean {
    return this.subscribedOnce;
  }

  async onModuleDestroy(): Promise<void> {
    this.subscriber?.disconnect();
  }

  /** Registers a handler; returns its unsubscribe function. */
  subscribe(handler: InvalidationHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Applies the message locally, then publishes it to every process.
   * Never throws: a Redis outage is logged, and peers recover through `reset`.
   */
  async publish(message: Exclude<InvalidationMessage, { kind: 'reset' }>): Promise<void> {
    this.deliver(message);
    try {
      await this.publisher.publish(this.channel, JSON.stringify(message));
    } catch (e) {
      this.logger.warn(`invalidation publish failed: ${(e as Error).message}`);
    }
  }

  private deliver(message: InvalidationMessage): void {
    for (const handler of this.handlers) handler(message);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { MetricsService } from '@shortener/observability';
import { BlocklistService } from '../blocklist/blocklist.service';
import { normalizeTarget, TargetPolicy } from '../domain/target-url';
import { ShortDomains } from './short-domains';

/**
 * The rules a target URL must pass (docs/design.md section 4): the shortener's own
 * hosts and the maximum length from configuration, and the host blocklist
 * (configured and admin-managed, {@link BlocklistService}).
 */
@Injectable()
export class TargetPolicyService {
  private current: TargetPolicy;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly domains: ShortDomains,
    private readonly blocklist: BlocklistService,
    private readonly metrics: MetricsService,
  ) {
    this.current = {
      ownHosts: this.domains.hosts,
      blockedHosts: this.blocklist.hosts(),
      maxLengthBytes: this.config.links.maxTargetLengthBytes,
    };
  }

  /** The policy in force; a new object whenever a list changes (the domain code reads lists once per object). */
  policy(): TargetPolicy {
    const blockedHosts = this.blocklist.hosts();
    if (blockedHosts !== this.current.blockedHosts) this.current = { ...this.current, blockedHosts };
    return this.current;
  }

  /**
   * The stored form of a target.
   * @param where what the target is for; a blocked host is counted in
   *   `shortener_blocklist_refusals_total{where}`
   * @throws DomainError with a `target-*` code (see normalizeTarget).
   */
  normalize(input: string, where: 'create' | 'update'): string {
    try {
      return normalizeTarget(input, this.policy());
    } catch (error) {
      if (error instanceof DomainError && error.code === 'target-host-blocked') this.metrics.blocklistRefusals.labels(where).inc();
      throw error;
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { normalizeTarget, TargetPolicy } from '../domain/target-url';
import { ShortDomains } from './short-domains';

/**
 * The rules a target URL must pass (DESIGN.md section 4): the shortener's own
 * hosts, the host blocklist and the maximum length, from configuration.
 */
@Injectable()
export class TargetPolicyService {
  private current: TargetPolicy;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly domains: ShortDomains,
  ) {
    this.current = {
      ownHosts: this.domains.hosts,
      blockedHosts: this.config.links.blockedHosts,
      maxLengthBytes: this.config.links.maxTargetLengthBytes,
    };
  }

  /** The policy in force; a new object whenever a list changes (the domain code reads lists once per object). */
  policy(): TargetPolicy {
    return this.current;
  }

  /**
   * The stored form of a target.
   * @throws DomainError with a `target-*` code (see normalizeTarget).
   */
  normalize(input: string): string {
    return normalizeTarget(input, this.policy());
  }
}

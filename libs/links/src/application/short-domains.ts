import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig, ShortDomain } from '@shortener/config';

/** The configured short domains (docs/design.md section 4): one default, more by configuration. */
@Injectable()
export class ShortDomains {
  private readonly byHost: Map<string, ShortDomain>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.byHost = new Map(config.domains.all.map((d) => [d.host, d]));
  }

  get default(): ShortDomain {
    return this.config.domains.default;
  }

  /** Every short host (lower-case A-labels): targets may not point at them (case C12). */
  get hosts(): string[] {
    return [...this.byHost.keys()];
  }

  /**
   * The domain a client names in the API, or the default one.
   * @throws DomainError `domain-unknown` when it is not configured.
   */
  resolve(host: string | undefined | null): ShortDomain {
    if (host === undefined || host === null || host === '') return this.default;
    let normalized: string;
    try {
      normalized = new URL(`http://${host}`).hostname;
    } catch {
      normalized = '';
    }
    const domain = this.byHost.get(normalized);
    if (!domain) throw new DomainError('domain-unknown', `Domain ${host} is not configured; use one of ${this.hosts.join(', ')}`);
    return domain;
  }

  /** The domain a redirect request's Host belongs to; unknown hosts (e.g. in-cluster names) get the default. */
  forRequestHost(hostname: string | undefined): ShortDomain {
    return (hostname && this.byHost.get(hostname.toLowerCase())) || this.default;
  }

  /** The configured domain of a stored link's domain column. */
  byName(name: string): ShortDomain {
    return this.byHost.get(name) ?? { host: name, baseUrl: `https://${name}` };
  }
}

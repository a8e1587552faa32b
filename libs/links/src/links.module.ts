import { DynamicModule, Module, Type } from '@nestjs/common';
import { ClockModule } from '@shortener/http';
import { DatabaseModule } from '@shortener/database';
import { ObservabilityModule } from '@shortener/observability';
import { SecurityModule } from '@shortener/security';
import { IdempotencyModule } from './application/idempotency.module';
import { LinkRepositoryModule } from './application/link-repository.module';
import { LinkService } from './application/link.service';
import { ShortDomainsModule } from './application/short-domains.module';
import { TargetPolicyService } from './application/target-policy.service';
import { LinkAuditModule } from './audit/link-audit.module';
import { BlocklistModule } from './blocklist/blocklist.module';
import { LinksController } from './http/links.controller';
import { ClickRecorder } from './redirect/click-recorder';
import { LinkCacheModule } from './redirect/link-cache.module';
import { RedirectRoute } from './redirect/redirect.route';
import { RedirectService } from './redirect/redirect.service';

/**
 * Links in the API process: the REST API, the redirect and its caches, with
 * the blocklist and audit trail they consult.
 */
@Module({})
export class LinksModule {
  /**
   * @param options.clickCapture the module that provides and exports the
   *   {@link ClickRecorder} the redirect hands its clicks to (the click
   *   pipeline's, which depends on this library, so the app passes it in).
   */
  static forApi(options: { clickCapture: Type | DynamicModule }): DynamicModule {
    return {
      module: LinksModule,
      imports: [
        options.clickCapture,
        ClockModule,
        DatabaseModule,
        ObservabilityModule,
        SecurityModule,
        ShortDomainsModule,
        LinkRepositoryModule,
        IdempotencyModule,
        LinkCacheModule,
        BlocklistModule,
        LinkAuditModule,
      ],
      controllers: [LinksController],
      providers: [TargetPolicyService, LinkService, RedirectService, RedirectRoute],
    };
  }
}

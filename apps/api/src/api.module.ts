import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@shortener/auth';
import { ClicksApiModule } from '@shortener/clicks';
import { AppConfig, ConfigModule } from '@shortener/config';
import { DatabaseModule } from '@shortener/database';
import { BlocklistModule, LinkAuditModule, LinksModule } from '@shortener/links';
import { ObservabilityModule } from '@shortener/observability';
import { RedisModule } from '@shortener/redis';
import { SecurityModule } from '@shortener/security';

/** The API process: composes library modules only (logic lives in libs/). */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        DatabaseModule.forRoot(),
        RedisModule,
        SecurityModule,
        AuthModule,
        ClicksApiModule,
        LinksModule,
        BlocklistModule,
        LinkAuditModule,
      ],
    };
  }
}

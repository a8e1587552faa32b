import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@shortener/auth';
import { ClickCaptureModule, ClicksApiModule } from '@shortener/clicks';
import { AppConfig, ConfigModule } from '@shortener/config';
import { DatabaseConnectionModule } from '@shortener/database';
import { LinksModule } from '@shortener/links';
import { HealthModule, ObservabilityModule } from '@shortener/observability';

/**
 * The API process: composes library modules only (logic lives in libs/).
 * The redirect's clicks go to the click pipeline's capture module.
 */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseConnectionModule.forRoot(),
        ObservabilityModule,
        HealthModule,
        AuthModule,
        ClicksApiModule,
        LinksModule.forApi({ clickCapture: ClickCaptureModule }),
      ],
    };
  }
}

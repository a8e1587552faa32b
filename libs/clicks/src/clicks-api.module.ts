import { Module } from '@nestjs/common';
import { ClickCaptureModule } from './capture/click-capture.module';
import { ClickStatsModule } from './stats/click-stats.module';

/** The click pipeline's API side: click capture for the redirect and the stats API. */
@Module({ imports: [ClickCaptureModule, ClickStatsModule] })
export class ClicksApiModule {}

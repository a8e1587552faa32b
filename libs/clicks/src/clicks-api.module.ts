import { Module } from '@nestjs/common';
import { ClickCaptureModule } from './capture/click-capture.module';
import { ClickStatsModule } from './stats/click-stats.module';

/** The click pipeline's API side: click capture (for the redirect, `LinksModule.forApi`) and the stats API. */
@Module({ imports: [ClickCaptureModule, ClickStatsModule], exports: [ClickCaptureModule] })
export class ClicksApiModule {}

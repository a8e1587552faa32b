import { Global, Injectable, Module } from '@nestjs/common';
import { ClickEvent, ClickRecorder } from '@shortener/links';
import { MetricsService } from '@shortener/observability';

/** Interim recorder until the BullMQ click pipeline lands: counts and discards. */
@Injectable()
export class CountingClickRecorder extends ClickRecorder {
  constructor(private readonly metrics: MetricsService) {
    super();
  }
  record(_click: ClickEvent): void {
    this.metrics.clicksBuffered.inc();
  }
}

/** Provides the API's {@link ClickRecorder}. */
@Global()
@Module({ providers: [{ provide: ClickRecorder, useClass: CountingClickRecorder }], exports: [ClickRecorder] })
export class ClickCaptureModule {}

import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { ClickRecorder } from '@shortener/links';
import { ObservabilityModule } from '@shortener/observability';
import { QUEUES, createQueue } from '@shortener/queue';
import { CLICK_QUEUE, QueuedClickRecorder } from './queued-click.recorder';

/**
 * Provides the API's {@link ClickRecorder}: {@link QueuedClickRecorder},
 * which publishes click batches to the `clicks` queue. The API app passes
 * this module to the links module's redirect (`LinksModule.forApi`).
 */
@Module({
  imports: [ObservabilityModule],
  providers: [
    { provide: CLICK_QUEUE, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createQueue(config, QUEUES.clicks) },
    QueuedClickRecorder,
    { provide: ClickRecorder, useExisting: QueuedClickRecorder },
  ],
  exports: [ClickRecorder, QueuedClickRecorder],
})
export class ClickCaptureModule {}

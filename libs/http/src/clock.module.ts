import { Module } from '@nestjs/common';
import { Clock, SystemClock } from '@shortener/common';

/** Provides the process {@link Clock} ({@link SystemClock}); tests override the `Clock` token with a `ManualClock`. */
@Module({
  providers: [{ provide: Clock, useClass: SystemClock }],
  exports: [Clock],
})
export class ClockModule {}

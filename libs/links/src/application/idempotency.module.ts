import { Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';

/** The `idempotency_keys` table's one home ({@link IdempotencyService}): replays for the API, pruning for the worker's housekeeping. */
@Module({
  providers: [IdempotencyService],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}

import { AccountEntity } from './account.entity';
import { ApiKeyEntity } from './api-key.entity';
import { ClickBatchEntity } from './click-batch.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { LinkClicksHourlyEntity } from './link-clicks-hourly.entity';
import { LinkDimensionDailyEntity } from './link-dimension-daily.entity';
import { LinkVisitorsDailyEntity } from './link-visitors-daily.entity';
import { LinkEntity } from './link.entity';
import { BlockedHostEntity } from './blocked-host.entity';
import { LinkAuditEntity } from './link-audit.entity';

export * from './account.entity';
export * from './api-key.entity';
export * from './idempotency-key.entity';
export * from './link.entity';
export * from './click-batch.entity';
export * from './link-clicks-hourly.entity';
export * from './link-dimension-daily.entity';
export * from './link-visitors-daily.entity';
export * from './blocked-host.entity';
export * from './link-audit.entity';

/** Every entity of the schema; later libs append theirs here. */
export const ENTITIES = [
  AccountEntity,
  ApiKeyEntity,
  LinkEntity,
  IdempotencyKeyEntity,
  ClickBatchEntity,
  LinkClicksHourlyEntity,
  LinkDimensionDailyEntity,
  LinkVisitorsDailyEntity,
  BlockedHostEntity,
  LinkAuditEntity,
];

import { AccountEntity } from './account.entity';
import { ApiKeyEntity } from './api-key.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { LinkEntity } from './link.entity';

export * from './account.entity';
export * from './api-key.entity';
export * from './idempotency-key.entity';
export * from './link.entity';

/** Every entity of the schema; later libs append theirs here. */
export const ENTITIES = [AccountEntity, ApiKeyEntity, LinkEntity, IdempotencyKeyEntity];

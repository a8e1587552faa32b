import { InitialSchema1764400000000 } from './1764400000000-initial-schema';
import { ClickAnalytics1764500000000 } from './1764500000000-click-analytics';
import { LinksDeletedAnalyticsIndex1764500000001 } from './1764500000001-links-deleted-analytics-index';
import { BlocklistAndAudit1764600000000 } from './1764600000000-blocklist-and-audit';
import { IdempotencyResponseText1764700000000 } from './1764700000000-idempotency-response-text';

/** Every migration in order. Listed explicitly so the compiled image needs no glob. */
export const MIGRATIONS = [
  InitialSchema1764400000000,
  ClickAnalytics1764500000000,
  LinksDeletedAnalyticsIndex1764500000001,
  BlocklistAndAudit1764600000000,
  IdempotencyResponseText1764700000000,
];

import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A click batch already committed to the rollups (its id dedupes retried jobs); pruned after a retention window. */
@Entity({ name: 'click_batches' })
export class ClickBatchEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'text' })
  batchId: string;

  @Column({ name: 'click_count', type: 'bigint' })
  clickCount: string;

  @Column({ name: 'processed_at', type: 'timestamptz', default: () => 'now()' })
  processedAt: Date;
}

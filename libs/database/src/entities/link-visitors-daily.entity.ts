import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Unique visitors of a link on one UTC day: the raw bytes of a Redis
 * HyperLogLog (the string `GET` returns), the durable copy that survives a
 * Redis restart; unions are computed with PFCOUNT over several of them.
 */
@Entity({ name: 'link_visitors_daily' })
export class LinkVisitorsDailyEntity {
  @PrimaryColumn({ name: 'link_id', type: 'bigint' })
  linkId: string;

  /** `YYYY-MM-DD` (UTC). */
  @PrimaryColumn({ type: 'date' })
  day: string;

  @Column({ type: 'bytea' })
  hll: Buffer;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

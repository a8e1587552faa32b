import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Analytics dimensions counted per UTC day. */
export type ClickDimension = 'referrer' | 'country' | 'browser' | 'os' | 'device';
export const CLICK_DIMENSIONS: readonly ClickDimension[] = ['referrer', 'country', 'browser', 'os', 'device'];

/** Human clicks of a link on one UTC day with one value of a dimension ('' = none or unknown). */
@Entity({ name: 'link_dimension_daily' })
export class LinkDimensionDailyEntity {
  @PrimaryColumn({ name: 'link_id', type: 'bigint' })
  linkId: string;

  /** `YYYY-MM-DD` (UTC). */
  @PrimaryColumn({ type: 'date' })
  day: string;

  @PrimaryColumn({ type: 'text' })
  dimension: ClickDimension;

  @PrimaryColumn({ type: 'text' })
  value: string;

  @Column({ type: 'bigint', default: 0 })
  clicks: string;
}

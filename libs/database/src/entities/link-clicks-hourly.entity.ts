import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Clicks of a link in one UTC hour, human and bot apart (docs/design.md section 5). Counters are bigint strings. */
@Entity({ name: 'link_clicks_hourly' })
export class LinkClicksHourlyEntity {
  @PrimaryColumn({ name: 'link_id', type: 'bigint' })
  linkId: string;

  /** Start of the UTC hour. */
  @PrimaryColumn({ type: 'timestamptz' })
  hour: Date;

  @Column({ name: 'human_clicks', type: 'bigint', default: 0 })
  humanClicks: string;

  @Column({ name: 'bot_clicks', type: 'bigint', default: 0 })
  botClicks: string;
}

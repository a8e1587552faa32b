import { CLICK_DIMENSIONS, ClickClassifier, ClickDimension, ClickSignals } from './click-dimensions.extractor';
import { hourStart, utcDay } from './utc-bucket.math';

/** One click as the aggregation reads it (the queue's click payload fits it). */
export interface ClickInput extends ClickSignals {
  /** `links.id` as a decimal string. */
  linkId: string;
  /** Epoch milliseconds of the redirect. */
  at: number;
  visitorHash: string;
}

/** Clicks of a link in one UTC hour. */
export interface HourlyCount {
  linkId: string;
  /** Epoch ms of the hour's start. */
  hour: number;
  human: number;
  bot: number;
}

/** Human clicks of a link on one UTC day with one dimension value. */
export interface DimensionCount {
  linkId: string;
  day: string;
  dimension: ClickDimension;
  value: string;
  clicks: number;
}

/** Distinct visitor hashes of a link's human clicks on one UTC day. */
export interface DailyVisitors {
  linkId: string;
  day: string;
  visitorHashes: string[];
}

/** A batch reduced to the rows it adds to the rollups; every list sorted by its key. */
export interface ClickAggregate {
  hourly: HourlyCount[];
  dimensions: DimensionCount[];
  visitors: DailyVisitors[];
  /** Clicks (human and bot) per link, for `links.click_total`. */
  totals: Array<{ linkId: string; clicks: number }>;
}

// Link ids are bigint strings: compare as numbers without losing precision.
const byId = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Aggregates a batch (DESIGN.md section 5): hourly clicks with human and
 * bot apart; per-day dimension counts and visitor sets of human clicks only,
 * so crawlers do not crowd the top lists or inflate unique visitors.
 * Sorting by key is what lets the rollup upsert rows in one order everywhere.
 */
export function aggregateClicks(clicks: readonly ClickInput[], classifier = new ClickClassifier()): ClickAggregate {
  const hourly = new Map<string, HourlyCount>();
  const dimensions = new Map<string, DimensionCount>();
  const visitors = new Map<string, { linkId: string; day: string; hashes: Set<string> }>();
  const totals = new Map<string, number>();
  for (const click of clicks) {
    const { bot, dimensions: values } = classifier.classify(click);
    const hour = hourStart(click.at);
    const hourKey = `${click.linkId}|${hour}`;
    let h = hourly.get(hourKey);
    if (!h) hourly.set(hourKey, (h = { linkId: click.linkId, hour, human: 0, bot: 0 }));
    if (bot) h.bot += 1;
    else h.human += 1;
    totals.set(click.linkId, (totals.get(click.linkId) ?? 0) + 1);
    if (bot) continue;
    const day = utcDay(click.at);
    for (const dimension of CLICK_DIMENSIONS) {
      const value = values[dimension];
      const key = `${click.linkId}|${day}|${dimension}|${value}`;
      const d = dimensions.get(key);
      if (d) d.clicks += 1;
      else dimensions.set(key, { linkId: click.linkId, day, dimension, value, clicks: 1 });
    }
    const vKey = `${click.linkId}|${day}`;
    let v = visitors.get(vKey);
    if (!v) visitors.set(vKey, (v = { linkId: click.linkId, day, hashes: new Set() }));
    v.hashes.add(click.visitorHash);
  }
  return {
    hourly: [...hourly.values()].sort((a, b) => byId(a.linkId, b.linkId) || a.hour - b.hour),
    dimensions: [...dimensions.values()].sort(
      (a, b) => byId(a.linkId, b.linkId) || byText(a.day, b.day) || byText(a.dimension, b.dimension) || byText(a.value, b.value),
    ),
    visitors: [...visitors.values()]
      .map((v) => ({ linkId: v.linkId, day: v.day, visitorHashes: [...v.hashes].sort() }))
      .sort((a, b) => byId(a.linkId, b.linkId) || byText(a.day, b.day)),
    totals: [...totals.entries()].map(([linkId, n]) => ({ linkId, clicks: n })).sort((a, b) => byId(a.linkId, b.linkId)),
  };
}

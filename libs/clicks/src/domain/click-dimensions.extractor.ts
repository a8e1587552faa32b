import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';

/** Dimensions counted per day (the `dimension` column; the stats API's top lists). */
export type ClickDimension = 'referrer' | 'country' | 'browser' | 'os' | 'device';
export const CLICK_DIMENSIONS: readonly ClickDimension[] = ['referrer', 'country', 'browser', 'os', 'device'];
/** Longest stored dimension value (the column's CHECK allows 256). */
export const MAX_DIMENSION_VALUE_LENGTH = 200;

/** What the classification reads of a click. */
export interface ClickSignals {
  userAgent: string | null;
  referrerHost: string | null;
  country: string | null;
}

/** A click's bot flag and dimension values; '' means none or unknown. */
export interface ClassifiedClick {
  bot: boolean;
  dimensions: Record<ClickDimension, string>;
}

const clip = (v: string | null | undefined) => (v ?? '').slice(0, MAX_DIMENSION_VALUE_LENGTH);

/**
 * Classifies a click: the bot flag from `isbot`; browser name, OS name and
 * device type from ua-parser-js v2 (its device types: mobile, tablet,
 * console, smarttv, wearable, xr, embedded). ua-parser-js names no type for
 * desktops, so a recognised browser or OS without one counts as `desktop`;
 * an unrecognised agent stays ''. Referrer host and country pass through.
 */
export function classifyClick(click: ClickSignals): ClassifiedClick {
  const ua = click.userAgent ?? '';
  const parsed = ua ? UAParser(ua) : undefined;
  const browser = parsed?.browser.name;
  const os = parsed?.os.name;
  const device = parsed?.device.type ?? (browser || os ? 'desktop' : '');
  return {
    bot: isbot(ua),
    dimensions: {
      referrer: clip(click.referrerHost?.toLowerCase()),
      country: clip(click.country?.toUpperCase()),
      browser: clip(browser),
      os: clip(os),
      device: clip(device),
    },
  };
}

/**
 * A memo of {@link classifyClick} by user agent, referrer and country: one
 * batch repeats a few agents many times, and parsing one costs tens of
 * microseconds. The memo is keyed by the three values in nested maps (no key
 * string is built per click; null and '' classify alike). Bounded: it is
 * cleared when it holds `max` classifications.
 */
export class ClickClassifier {
  private readonly memo = new Map<string, Map<string, Map<string, ClassifiedClick>>>();
  private entries = 0;

  constructor(private readonly max = 10_000) {}

  /** Classifications held now (at most `max`). */
  get size(): number {
    return this.entries;
  }

  classify(click: ClickSignals): ClassifiedClick {
    const ua = click.userAgent ?? '';
    const referrer = click.referrerHost ?? '';
    const country = click.country ?? '';
    let byReferrer = this.memo.get(ua);
    let byCountry = byReferrer?.get(referrer);
    let result = byCountry?.get(country);
    if (result) return result;
    if (this.entries >= this.max) {
      this.memo.clear();
      this.entries = 0;
      byReferrer = byCountry = undefined;
    }
    result = classifyClick(click);
    if (!byReferrer) this.memo.set(ua, (byReferrer = new Map<string, Map<string, ClassifiedClick>>()));
    if (!byCountry) byReferrer.set(referrer, (byCountry = new Map<string, ClassifiedClick>()));
    byCountry.set(country, result);
    this.entries += 1;
    return result;
  }
}

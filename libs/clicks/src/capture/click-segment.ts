import {
  CLICK_BATCH_MAX_BYTES,
  CLICK_BATCH_MAX_CLICKS,
  CLICK_BATCH_VERSION,
  ClickBatchJobData,
  MAX_REFERRER_HOST_LENGTH,
  MAX_USER_AGENT_LENGTH,
  QueuedClick,
} from '@shortener/queue';
import { ClickEvent } from '@shortener/links';

// Why clicks wait in a Buffer as JSON text, not as objects: a buffered click
// lives until its batch fills (about 50 ms at 10,000 redirects/s), long
// enough to be alive at a scavenge, and V8 moved such objects into the old
// generation: a major GC every 3-5 s with 10-40 ms pauses on the redirect's
// core. As bytes in a reused Buffer the click leaves nothing on the JS heap
// once the redirect returns (measured in docs/benchmarks.md: no major GC in
// 15 s at 10,000/s, p99 from 15-29 ms to about 4 ms).

// JSON of the batch around its clicks array: {"v":1,"batchId":"<uuid>","clicks":}.
const BATCH_OVERHEAD_BYTES = 80;
// Characters JSON.stringify escapes (controls, quote, backslash) or may (lone surrogates).
const JSON_ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/;
const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]

function jsonString(s: string): string {
  return JSON_ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function jsonNullable(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}

/**
 * The JSON text of a redirect's click in its queue form ({@link QueuedClick},
 * docs/design.md section 5), with the payload's field caps applied: the user agent
 * to {@link MAX_USER_AGENT_LENGTH} and the referrer host to
 * {@link MAX_REFERRER_HOST_LENGTH} UTF-16 code units. Exactly what
 * `JSON.stringify` gives for that object (same keys, same order), built
 * without making the object.
 */
export function encodeQueuedClick(click: ClickEvent): string {
  const referrer = click.referrerHost === null ? null : click.referrerHost.slice(0, MAX_REFERRER_HOST_LENGTH);
  const userAgent = click.userAgent === null ? null : click.userAgent.slice(0, MAX_USER_AGENT_LENGTH);
  const trace = click.traceparent ? `,"traceparent":${jsonString(click.traceparent)}` : '';
  return `{"linkId":${jsonString(click.linkId)},"at":${JSON.stringify(click.at)},"referrerHost":${jsonNullable(referrer)},"userAgent":${jsonNullable(
    userAgent,
  )},"visitorHash":${jsonString(click.visitorHash)},"country":${jsonNullable(click.country)}${trace}}`;
}

/**
 * One click batch being filled: the clicks' JSON texts ({@link encodeQueuedClick})
 * written one after another into a Buffer allocated once and reused for every
 * batch, as the text of a JSON array. Holds at most `maxClicks` clicks (never
 * more than {@link CLICK_BATCH_MAX_CLICKS}) and keeps the batch's JSON within
 * {@link CLICK_BATCH_MAX_BYTES} bytes of UTF-8 (hence also of UTF-16 code
 * units, the cap's measure).
 */
export class ClickSegment {
  private readonly bytes: Buffer;
  private readonly maxClicks: number;
  // Bytes written; the array's `[` is at 0.
  private end = 1;
  private clicks = 0;
  private oldest = Infinity;

  /** @param maxClicks clicks per batch (`CLICK_BATCH_SIZE`), capped at {@link CLICK_BATCH_MAX_CLICKS}. */
  constructor(maxClicks: number) {
    this.maxClicks = Math.max(1, Math.min(maxClicks, CLICK_BATCH_MAX_CLICKS));
    this.bytes = Buffer.allocUnsafeSlow(CLICK_BATCH_MAX_BYTES - BATCH_OVERHEAD_BYTES);
    this.bytes[0] = OPEN;
  }

  /** Clicks written since the last {@link take}. */
  get count(): number {
    return this.clicks;
  }

  /** The earliest click time (epoch ms) given to {@link append} since the last {@link clear}; Infinity when none. */
  get oldestAt(): number {
    return this.oldest;
  }

  /** Whether the batch has its most clicks. */
  get full(): boolean {
    return this.clicks >= this.maxClicks;
  }

  /**
   * Writes one click's JSON text (from {@link encodeQueuedClick}).
   * @param at the click's time (epoch ms), for {@link oldestAt}
   * @returns false, writing nothing, when the batch is full or the text does
   *   not fit in its bytes (a click's text is at most a few KB, so it always
   *   fits an empty batch).
   */
  append(json: string, at?: number): boolean {
    if (this.clicks >= this.maxClicks) return false;
    // Room for a separator and the closing `]`.
    const room = this.bytes.length - this.end - 2;
    // Three UTF-8 bytes per UTF-16 code unit at most: measure only near the end.
    if (json.length * 3 > room && Buffer.byteLength(json, 'utf8') > room) return false;
    if (this.clicks > 0) this.bytes[this.end++] = COMMA;
    this.end += this.bytes.write(json, this.end, 'utf8');
    this.clicks++;
    if (at !== undefined && at < this.oldest) this.oldest = at;
    return true;
  }

  /**
   * The batch's job payload (the queue's {@link ClickBatchJobData}, version 1):
   * its clicks parsed back from the bytes, in the order written. The segment
   * keeps them (a publish that fails is retried with the same payload) until
   * {@link clear}.
   * @param batchId the batch's unique id (a UUID)
   */
  payload(batchId: string): ClickBatchJobData {
    this.bytes[this.end] = CLOSE;
    const clicks = JSON.parse(this.bytes.toString('utf8', 0, this.end + 1)) as QueuedClick[];
    return { v: CLICK_BATCH_VERSION, batchId, clicks };
  }

  /** Empties the segment for the next batch. */
  clear(): void {
    this.end = 1;
    this.clicks = 0;
    this.oldest = Infinity;
  }
}

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
import { randomUUID } from 'node:crypto';

// JSON of the batch around its clicks: {"v":1,"batchId":"<uuid>","clicks":[...]}.
const BATCH_OVERHEAD_BYTES = 80;

/** The queue form of a redirect's click, with the payload's field caps applied. */
export function toQueuedClick(click: ClickEvent): QueuedClick {
  const queued: QueuedClick = {
    linkId: click.linkId,
    at: click.at,
    referrerHost: click.referrerHost === null ? null : click.referrerHost.slice(0, MAX_REFERRER_HOST_LENGTH),
    userAgent: click.userAgent === null ? null : click.userAgent.slice(0, MAX_USER_AGENT_LENGTH),
    visitorHash: click.visitorHash,
    country: click.country,
  };
  if (click.traceparent) queued.traceparent = click.traceparent;
  return queued;
}

// Characters JSON.stringify escapes (controls, quote, backslash) or may (lone surrogates).
const JSON_ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/;
// `{"linkId":"","at":,"referrerHost":,"userAgent":,"visitorHash":"","country":}` around the values.
const CLICK_JSON_FRAME = 76;
const TRACEPARENT_JSON_FRAME = 15; // `,"traceparent":` before its string

function jsonStringLength(s: string | null): number {
  if (s === null) return 4;
  return JSON_ESCAPED.test(s) ? JSON.stringify(s).length : s.length + 2;
}

/**
 * `JSON.stringify(click).length`, computed without serializing: the batch
 * split measures every click, and serializing each one (BullMQ serializes
 * the whole batch again) cost a microsecond per redirect.
 */
export function queuedClickJsonLength(c: QueuedClick): number {
  return (
    CLICK_JSON_FRAME +
    jsonStringLength(c.linkId) - 2 +
    String(c.at).length +
    jsonStringLength(c.referrerHost) +
    jsonStringLength(c.userAgent) +
    jsonStringLength(c.visitorHash) - 2 +
    jsonStringLength(c.country) +
    (c.traceparent === undefined ? 0 : TRACEPARENT_JSON_FRAME + jsonStringLength(c.traceparent))
  );
}

/**
 * Splits clicks into job payloads, in order, each within
 * {@link CLICK_BATCH_MAX_CLICKS} clicks and {@link CLICK_BATCH_MAX_BYTES}
 * of JSON, each with a fresh batch id.
 *
 * @param newId batch id source (a UUID by default; tests pass their own).
 */
export function splitClickBatches(clicks: readonly QueuedClick[], newId: () => string = randomUUID): ClickBatchJobData[] {
  const batches: ClickBatchJobData[] = [];
  let current: QueuedClick[] = [];
  let bytes = BATCH_OVERHEAD_BYTES;
  for (const click of clicks) {
    const size = queuedClickJsonLength(click) + 1;
    if (current.length > 0 && (current.length >= CLICK_BATCH_MAX_CLICKS || bytes + size > CLICK_BATCH_MAX_BYTES)) {
      batches.push({ v: CLICK_BATCH_VERSION, batchId: newId(), clicks: current });
      current = [];
      bytes = BATCH_OVERHEAD_BYTES;
    }
    current.push(click);
    bytes += size;
  }
  if (current.length > 0) batches.push({ v: CLICK_BATCH_VERSION, batchId: newId(), clicks: current });
  return batches;
}

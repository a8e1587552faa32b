/**
 * One counted visit, as the redirect hands it over (DESIGN.md section 5).
 * The raw client address is never part of it: only a salted hash.
 */
export interface ClickEvent {
  linkId: string;
  /** Epoch milliseconds of the redirect. */
  at: number;
  /** Host of the Referer header, lower-case, or null. */
  referrerHost: string | null;
  userAgent: string | null;
  /** Salted hash of the client address (hex), for unique visitors. */
  visitorHash: string;
  /** ISO 3166-1 alpha-2 country from the configured trusted header, or null. */
  country: string | null;
  /** W3C trace context of the redirect span when it was sampled, for span links. */
  traceparent?: string;
}

/**
 * Where the redirect puts clicks. The click pipeline provides the real one
 * (in-process buffer published to BullMQ in batches); it must never block or throw.
 */
export abstract class ClickRecorder {
  abstract record(click: ClickEvent): void;
}

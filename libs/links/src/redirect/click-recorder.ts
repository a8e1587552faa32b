import type { QueuedClick } from '@shortener/queue';

/**
 * One counted visit, as the redirect hands it over (docs/design.md section 5): the
 * queue contract's click, so the redirect and the worker share one shape.
 * The raw client address is never part of it: only a salted hash. The
 * recorder applies the queue's length caps (user agent, referrer host).
 */
export type ClickEvent = QueuedClick;

/**
 * Where the redirect puts clicks. The click pipeline provides the real one
 * (in-process buffer published to BullMQ in batches); it must never block or throw.
 */
export abstract class ClickRecorder {
  abstract record(click: ClickEvent): void;
}

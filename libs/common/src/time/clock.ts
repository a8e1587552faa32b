/**
 * The source of the current instant, injected wherever time decides behaviour
 * (expiry, rollup buckets) so tests can move it.
 */
export abstract class Clock {
  /** Milliseconds since the Unix epoch. */
  abstract now(): number;
}

/** The process clock (`Date.now()`). */
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/** A clock tests set and advance by hand. */
export class ManualClock extends Clock {
  constructor(private current = Date.now()) {
    super();
  }
  now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * Earliest instant the product stores or answers, in epoch milliseconds:
 * 0001-01-01T00:00:00Z. RFC 3339 can write year 0000, but PostgreSQL's
 * timestamptz has no year 0 (the year before 1 AD is 1 BC), so a day of it
 * could not be queried or bucketed.
 */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00Z');

/**
 * Latest instant the product stores or answers, in epoch milliseconds:
 * 9999-12-31T23:59:59.999Z, the last one an RFC 3339 timestamp (four-digit
 * years) can spell; `Date.prototype.toISOString` writes `+010000-...` after
 * it, so an instant beyond it could be taken but not answered.
 */
export const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

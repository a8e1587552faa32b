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

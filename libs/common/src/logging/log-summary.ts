/**
 * A warning that may repeat thousands of times a second (a dependency that
 * refuses every command): the first occurrence is logged at once, later ones
 * at most once per `intervalMs`, as one line with how many occurred since the
 * previous line and the latest message. A burst's tail is logged when its
 * interval ends; nothing is logged while nothing occurs.
 */
export class LogSummary {
  private count = 0;
  private latest = '';
  private lastLogAt = -Infinity;
  private timer?: NodeJS.Timeout;

  /**
   * @param logger where lines go (a Nest `Logger`)
   * @param what the line's subject, e.g. `worker error`
   * @param intervalMs shortest time between two lines, ms
   */
  constructor(
    private readonly logger: { warn(message: string): void },
    private readonly what: string,
    private readonly intervalMs: number,
  ) {}

  /** Counts one occurrence; logs now if the interval since the last line has passed. */
  add(message: string): void {
    this.count += 1;
    this.latest = message;
    const now = Date.now();
    if (now - this.lastLogAt >= this.intervalMs) {
      this.flush(now);
    } else if (!this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.flush(Date.now());
        },
        this.lastLogAt + this.intervalMs - now,
      );
      this.timer.unref();
    }
  }

  private flush(now: number): void {
    if (this.count === 0) return;
    const since = Number.isFinite(this.lastLogAt) ? ` (${this.count} in the last ${Math.round((now - this.lastLogAt) / 1000)} s)` : '';
    this.logger.warn(`${this.what}${since}: ${this.latest}`);
    this.count = 0;
    this.lastLogAt = now;
  }
}

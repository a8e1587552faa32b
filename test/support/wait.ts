/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Hard deadline in milliseconds. */
  timeoutMs?: number;
  /** Poll interval in milliseconds. */
  intervalMs?: number;
  /** Extra state to print when the deadline passes. */
  describe?: () => string;
}

/**
 * Polls `probe` until it returns a value other than undefined (or throws),
 * with an interval and a hard deadline; on timeout the error names what was
 * awaited and the last state. Never a fixed sleep.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    last = value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${options.describe ? `; last state: ${options.describe()}` : ''} (${String(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

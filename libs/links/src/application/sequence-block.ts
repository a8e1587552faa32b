import { outsideRequestDeadline } from '@shortener/common';

/** Reserves `count` values of a sequence (e.g. `nextval` over `generate_series`); resolves to them in any order. */
export type ReserveSequenceValues = (count: number) => Promise<bigint[]>;

/**
 * Values of a database sequence handed out from a block reserved in-process,
 * so most takers pay no round trip: one query reserves `blockSize` values,
 * and while it runs every taker waits for that same query (single flight).
 * When the block runs out the next taker reserves another.
 *
 * Values a process reserved and never used (it stopped, or a create failed
 * after taking one) are simply skipped: gaps are harmless where the value
 * only has to be unused, as for generated codes (docs/design.md section 4).
 * Values are handed out at most once per instance; two instances (or
 * processes) never share one because the sequence never does.
 */
export class SequenceBlock {
  private values: bigint[] = [];
  private nextIndex = 0;
  private refill: Promise<void> | null = null;

  /**
   * @param reserve the query that reserves values
   * @param blockSize how many values one query reserves (at least 1)
   */
  constructor(
    private readonly reserve: ReserveSequenceValues,
    readonly blockSize: number,
  ) {
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  }

  /** Values reserved and not handed out yet. */
  get remaining(): number {
    return this.values.length - this.nextIndex;
  }

  /**
   * The next unused value: at once from the current block, else after the
   * (shared) refill.
   * @throws whatever the reserving query throws; the next call tries again.
   */
  async take(): Promise<bigint> {
    for (;;) {
      if (this.nextIndex < this.values.length) return this.values[this.nextIndex++];
      // Every taker waits for the refill: no one taker's request deadline may cancel it.
      this.refill ??= outsideRequestDeadline(() => this.reserve(this.blockSize)).then(
        (values) => {
          this.refill = null;
          if (values.length === 0) throw new Error('the sequence reserved no value');
          this.values = this.values.slice(this.nextIndex).concat(values);
          this.nextIndex = 0;
        },
        (error: unknown) => {
          this.refill = null;
          throw error;
        },
      );
      // More takers than one block holds: the ones left over start the next refill.
      await this.refill;
    }
  }
}

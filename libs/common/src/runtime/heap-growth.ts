import { setFlagsFromString } from 'node:v8';

/** Largest accepted `V8_HEAP_GROWING_PERCENT`: old space may grow to 5 times what survived. */
export const MAX_HEAP_GROWING_PERCENT = 400;

/**
 * Sets how far V8 lets the old generation grow between two major GCs: to
 * `1 + percent / 100` times the heap that survived the last one (V8's
 * `--heap-growing-percent`). 0 leaves the factor to V8.
 *
 * Why: V8 derives the factor from the heap's maximum, and under the chart's
 * `--max-old-space-size=192` it is about 1.35, so a redirect load that moves
 * a few MB a second into old space ran a major GC every 2-3 s, each a 10-20
 * ms stop of the only event loop: the p99 of LRU-hit and cold redirects
 * (docs/benchmarks.md, "Garbage collection: the growing factor"). At 100 the
 * API ran 2-3 times fewer major GCs for about 30 MiB more RSS; the maximum
 * still caps the heap.
 *
 * Set at run time because NODE_OPTIONS does not accept the flag; V8 reads
 * it whenever it sizes the next limit, so call it before the app allocates.
 *
 * @param percent integer from 0 to {@link MAX_HEAP_GROWING_PERCENT} (`V8_HEAP_GROWING_PERCENT`)
 * @throws RangeError for anything else
 */
export function setHeapGrowingPercent(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > MAX_HEAP_GROWING_PERCENT) {
    throw new RangeError(`heap growing percent must be an integer from 0 to ${MAX_HEAP_GROWING_PERCENT}, got ${percent}`);
  }
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

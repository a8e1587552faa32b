import { Counter, CounterConfiguration } from 'prom-client';

/** One labelled series of a counter, as the hot path holds it. */
export interface CounterChild {
  /** Adds 1. */
  inc(): void;
}

class DeferredChild implements CounterChild {
  pending = 0;

  constructor(readonly labels: Record<string, string>) {}

  inc(): void {
    this.pending += 1;
  }
}

const childrenOf = new WeakMap<Counter, DeferredChild[]>();

/**
 * A prom-client counter whose series may be counted through
 * {@link deferredCounterChild}: its `collect` hook, which prom-client runs
 * before every read (scrape, `get()`), hands their pending counts over.
 *
 * @param config the counter's prom-client configuration (without `collect`)
 */
export function deferredCounter<T extends string>(config: Omit<CounterConfiguration<T>, 'collect'>): Counter<T> {
  const counter = new Counter<T>({
    ...config,
    collect() {
      flushDeferredCounts(this);
    },
  });
  childrenOf.set(counter, []);
  return counter;
}

/**
 * A counter series for the redirect's hot path whose increments are plain
 * additions: prom-client's own child `inc()` validates and hashes its label
 * values on every call (about half a microsecond and a few hundred bytes of
 * garbage per redirect, measured in docs/benchmarks.md). The sum reaches the
 * prom-client counter when the registry collects, i.e. on every scrape and
 * every `get()`, so a scrape sees every increment made before it.
 *
 * @param counter a counter made by {@link deferredCounter}
 * @param labels every label of the counter, by name ({} for none)
 * @returns a child to keep and call `inc()` on; one per label set
 * @throws Error when the counter was not made by {@link deferredCounter} (its counts would never be read)
 */
export function deferredCounterChild<T extends string>(counter: Counter<T>, labels: Record<T, string>): CounterChild {
  const children = childrenOf.get(counter);
  if (!children) throw new Error('deferredCounterChild needs a counter made by deferredCounter()');
  const child = new DeferredChild(labels);
  children.push(child);
  return child;
}

/** Hands the pending counts of a counter's deferred children to prom-client. */
function flushDeferredCounts(counter: Counter): void {
  const children = childrenOf.get(counter)!;
  for (const child of children) {
    if (child.pending === 0) continue;
    const n = child.pending;
    child.pending = 0;
    counter.inc(child.labels, n);
  }
}

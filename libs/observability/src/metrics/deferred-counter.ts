import type { Counter } from 'prom-client';

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

const childrenOf = new WeakMap<Counter<string>, DeferredChild[]>();

/**
 * A counter series for the redirect's hot path whose increments are plain
 * additions: prom-client's own child `inc()` validates and hashes its label
 * values on every call (about half a microsecond and a few hundred bytes of
 * garbage per redirect, measured in docs/benchmarks.md). The sum reaches the
 * prom-client counter when the registry collects, i.e. on every scrape and
 * every `get()`, so a scrape sees every increment made before it (the
 * counter must be built with `collect` calling {@link flushDeferredCounts}).
 *
 * @param counter a prom-client counter whose `collect` flushes its deferred children
 * @param labels every label of the counter, by name ({} for none)
 * @returns a child to keep and call `inc()` on; one per label set
 */
export function deferredCounterChild<T extends string>(counter: Counter<T>, labels: Record<T, string>): CounterChild {
  const key = counter as unknown as Counter<string>;
  let children = childrenOf.get(key);
  if (!children) childrenOf.set(key, (children = []));
  const child = new DeferredChild(labels);
  children.push(child);
  return child;
}

/**
 * Hands the pending counts of a counter's deferred children to prom-client;
 * the counter's `collect` hook (run by prom-client before each read).
 */
export function flushDeferredCounts(counter: Counter<string>): void {
  const children = childrenOf.get(counter);
  if (!children) return;
  for (const child of children) {
    if (child.pending === 0) continue;
    const n = child.pending;
    child.pending = 0;
    counter.inc(child.labels, n);
  }
}

// Reading the apps' Prometheus text exposition (the management port's
// /metrics) for the bench: counters, and histogram deltas between two scrapes.

/**
 * Parses the text format into samples.
 * @returns {{name: string, labels: Record<string,string>, value: number}[]}
 */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Fetches and parses `http://127.0.0.1:<port>/metrics`.
 * @throws when the answer is not 200 or takes longer than `timeoutMs` (a hung process is an error, not a wait)
 */
export async function scrape(port, { timeoutMs = 30_000 } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`metrics on :${port} answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sum(samples, name, match = {}) {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/**
 * A quantile of the observations a histogram got between two scrapes, as
 * Prometheus' histogram_quantile() would estimate it (linear within the
 * bucket), plus the smallest bucket bound that holds it.
 * @returns {{count: number, value: number|null, bound: number|null, fractionWithin: (le: number) => number}}
 */
export function histogramDelta(before, after, name, q) {
  const buckets = (samples) => {
    const map = new Map();
    for (const s of samples) if (s.name === `${name}_bucket`) map.set(s.labels.le, (map.get(s.labels.le) ?? 0) + s.value);
    return map;
  };
  const b0 = buckets(before);
  const b1 = buckets(after);
  const rows = [...b1.entries()].map(([le, v]) => ({ le: le === '+Inf' ? Infinity : Number(le), count: v - (b0.get(le) ?? 0) })).sort((a, b) => a.le - b.le);
  const total = rows.length ? rows[rows.length - 1].count : 0;
  // Share of the observations at or under a bucket bound (NaN for a bound the histogram lacks).
  const fractionWithin = (le) => {
    if (total === 0) return 1;
    const row = rows.find((r) => r.le === le);
    return row ? row.count / total : NaN;
  };
  if (total === 0) return { count: 0, value: null, bound: null, fractionWithin };
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const r of rows) {
    if (r.count >= rank) {
      if (r.le === Infinity) return { count: total, value: prevLe, bound: Infinity, fractionWithin };
      const inBucket = r.count - prevCount;
      const value = inBucket > 0 ? prevLe + ((r.le - prevLe) * (rank - prevCount)) / inBucket : r.le;
      return { count: total, value, bound: r.le, fractionWithin };
    }
    prevLe = r.le;
    prevCount = r.count;
  }
  return { count: total, value: null, bound: null, fractionWithin };
}

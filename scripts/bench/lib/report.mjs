// The bench's output: the table, the check against the targets, the
// machine description, and the gnuplot PNG of cold redirects against stored links.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What the figures were measured on. */
export function machineInfo() {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/**
 * Offered rate of the paced cold rows, redirects per second: the cold
 * throughput target's rate, at which its latency targets are checked.
 */
export const COLD_PACED_RATE = 5_000;

const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n === null || n === undefined ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));

function rssText(rss) {
  if (!rss) return '-';
  const entries = Object.entries(rss);
  if (entries.length === 1) return String(Math.round(entries[0][1]));
  return entries.map(([k, v]) => `${k.replace(/^api.*/, 'api')} ${Math.round(v)}`).join(', ');
}

/** The results as a Markdown table (readable on a terminal too). */
export function formatTable(results) {
  const head = ['row', 'links', 'req/s', 'x baseline', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'CPU us/req', 'x baseline CPU', 'RSS MiB', 'notes'];
  const baseCpu = results.rows.find((r) => r.key === 'baseline')?.cpuUsPerRequest;
  const lines = results.rows.map((r) => [
    r.name,
    r.links === undefined ? '-' : r.links.toLocaleString('en-US'),
    r.key === 'clicks' ? `${fmtInt(r.rps)} clicks/s` : fmtInt(r.rps),
    r.ratio === undefined || r.ratio === null ? '-' : r.ratio.toFixed(2),
    fmtMs(r.latencyMs?.p50),
    fmtMs(r.latencyMs?.p99),
    fmtMs(r.latencyMs?.p999),
    r.errors === undefined ? '-' : String(r.errors),
    r.cpuUsPerRequest === undefined || r.cpuUsPerRequest === null ? '-' : `${Math.round(r.cpuUsPerRequest)} (${Math.round(r.cpuShare * 100)}%)`,
    // Baseline CPU per request over this row's: the throughput ratio both would have with a whole core each.
    r.cpuUsPerRequest && baseCpu ? (baseCpu / r.cpuUsPerRequest).toFixed(2) : '-',
    rssText(r.rssMiB),
    [r.served, r.note].filter(Boolean).join('; '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const m = results.machine;
  const seeds = results.seeds
    .map(
      (s) =>
        `${s.links.toLocaleString('en-US')} in ${Math.round(s.seedSeconds)} s${s.indexSeconds ? ` (indexes ${Math.round(s.indexSeconds)} s)` : ''}${s.reused ? ', reused' : ''}`,
    )
    .join('; ');
  return [
    fmt(head),
    `|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? ':' : '-').padEnd(w + 1, '-') + (i === 0 || i === widths.length - 1 ? '-' : ':')).join('|')}|`,
    ...lines.map(fmt),
    '',
    `load: ${results.loadTool}, ${results.settings.connections} connections, ${results.settings.duration} s per row after ${results.settings.warmup} s warm-up; server on CPU ${results.settings.placement.server ?? 'any'}, load on CPU ${results.settings.placement.load ?? 'any'}; API node flags: ${results.settings.apiNodeFlags.length ? results.settings.apiNodeFlags.join(' ') : 'none'}${results.settings.apiNodeFlagsFrom ? ` (${results.settings.apiNodeFlagsFrom})` : ''}; V8_HEAP_GROWING_PERCENT ${results.settings.heapGrowingPercent ?? "unset (the app's default)"}; HTTP_MAX_CONNECTIONS ${results.settings.maxConnections?.toLocaleString('en-US') ?? "unset (the app's default)"}`,
    `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}${m.postgres ? `, PostgreSQL ${m.postgres}` : ''}${m.redis ? `, Redis ${m.redis}` : ''}`,
    `seeded: ${seeds}; traces exported to the local sink: ${results.sink?.requests ?? 0} requests`,
    // Other work on the machine takes CPU from the pinned server: the load average says how much there was.
    `1-minute load average: ${results.loadAverageAtStart?.toFixed(2)} at the start, ${results.loadAverageAtEnd?.toFixed(2)} at the end; run took ${Math.round(results.seconds)} s`,
  ].join('\n');
}

/**
 * The bench's targets against the results. A line whose figure was not measured
 * (e.g. no 10M scale in this run) is reported as skipped, not failed.
 * @returns {{text: string, failed: string[]}}
 */
export function checkTargets(results, scales) {
  const get = (key) => results.rows.find((r) => r.key === key);
  const lines = [];
  const check = (name, ok, detail) => lines.push({ name, ok, detail });
  const lru = get('lru');
  check('LRU-hit redirects >= 40% of the baseline', lru.ratio >= 0.4, `${(lru.ratio * 100).toFixed(0)}%`);
  // Latency at a stated load below capacity (the paced row); the full-speed
  // p99 is mostly queueing behind the other connections, printed beside it.
  const paced = get('lru-paced');
  check(
    'LRU-hit p99 < 5 ms at 50 connections (paced at half the full rate)',
    paced ? paced.latencyMs.p99 < 5 && results.settings.connections === 50 : null,
    `${paced ? `${fmtMs(paced.latencyMs.p99)} ms paced at ${fmtInt(paced.rps)}/s` : 'paced: not measured'}; ${fmtMs(lru.latencyMs.p99)} ms at full speed (${fmtInt(lru.rps)}/s), ${results.settings.connections} connections`,
  );
  // Cold latency is checked at the throughput target's rate (the paced rows),
  // the same load at every scale; the full-speed figures are printed beside.
  const big = get('cold-10000000');
  const small = get('cold-10000');
  const bigPaced = get('cold-paced-10000000');
  const smallPaced = get('cold-paced-10000');
  const at = `at ${fmtInt(COLD_PACED_RATE)}/s`;
  check('cold redirects at 10M links >= 5,000/s', big ? big.rps >= 5000 : null, big ? `${fmtInt(big.rps)}/s` : 'not measured');
  check(
    `cold redirects at 10M links p99 < 20 ms (${at})`,
    bigPaced ? bigPaced.latencyMs.p99 < 20 : null,
    `${bigPaced ? `${fmtMs(bigPaced.latencyMs.p99)} ms paced at ${fmtInt(bigPaced.rps)}/s` : 'paced: not measured'}${big ? `; ${fmtMs(big.latencyMs.p99)} ms at full speed (${fmtInt(big.rps)}/s)` : ''}`,
  );
  for (const q of ['p50', 'p99']) {
    const change = (b, s) => `${fmtMs(b.latencyMs[q])} ms vs ${fmtMs(s.latencyMs[q])} ms (${((b.latencyMs[q] / s.latencyMs[q] - 1) * 100).toFixed(0)}%)`;
    check(
      `cold ${q} at 10M within 20% of 10k (${at})`,
      bigPaced && smallPaced ? bigPaced.latencyMs[q] <= smallPaced.latencyMs[q] * 1.2 : null,
      `${bigPaced && smallPaced ? change(bigPaced, smallPaced) : 'paced: not measured'}${big && small ? `; at full speed ${change(big, small)}` : ''}`,
    );
  }
  const locked = get('redis-locked');
  check(
    'Redis-cached redirects under a lock on links: p99 < 50 ms, no errors',
    locked ? locked.latencyMs.p99 < 50 && locked.errors === 0 : null,
    locked ? `p99 ${fmtMs(locked.latencyMs.p99)} ms at ${fmtInt(locked.rps)}/s, ${locked.errors} errors` : 'not measured',
  );
  const create = get('create');
  check(
    'creates >= 2,000/s (single requests)',
    create ? create.rps >= 2000 && create.errors === 0 : null,
    create ? `${fmtInt(create.rps)}/s, ${create.errors} errors` : 'not measured',
  );
  const clicks = get('clicks');
  const c = clicks?.clicks;
  check(
    'click ingest offered at half the LRU-hit rate (within 10%)',
    clicks ? Math.abs(clicks.offeredRps / clicks.wantedRps - 1) <= 0.1 : null,
    clicks ? `${fmtInt(clicks.offeredRps)}/s offered, ${fmtInt(clicks.wantedRps)}/s wanted` : 'not measured',
  );
  check(
    'click ingest lag p99 < 5 s',
    c ? c.lagCount > 0 && c.lagWithin5s >= 0.99 : null,
    !c ? 'not measured' : c.lagP99 === null ? 'no observations' : `p99 ${c.lagP99.toFixed(2)} s, ${(c.lagWithin5s * 100).toFixed(2)}% within 5 s`,
  );
  check(
    'no click lost (committed = redirects served)',
    c ? c.lost === 0 && c.dropped === 0 : null,
    c ? `${c.served} served, ${c.committed} committed, ${c.dropped} dropped` : 'not measured',
  );
  // The abuse rows' RSS has its own line below.
  const apiRss = Math.max(
    ...results.rows
      .filter((r) => r.rssMiB && !r.key.startsWith('abuse'))
      .flatMap((r) =>
        Object.entries(r.rssMiB)
          .filter(([k]) => k.startsWith('api'))
          .map(([, v]) => v),
      ),
  );
  check('API RSS < 300 MiB under load', apiRss < 300, `${Math.round(apiRss)} MiB at most`);
  // The abuse rows: LRU hits under the abuse mix against the same API alone (full-speed rates).
  const abuse = results.abuse;
  const abuseDetail = () => {
    if (abuse.failure) return `FAILED: ${abuse.failure}`;
    const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
    return `${((abuse.on.rps / abuse.off.rps) * 100).toFixed(0)}%: ${fmtInt(abuse.on.rps)}/s under the mix, ${fmtInt(abuse.off.rps)}/s without; paced p99 ${fmtMs(abuse.on.pacedP99)} ms under, ${fmtMs(abuse.off.pacedP99)} ms without; largest event-loop delay ${ms(abuse.on.lagSeconds)} under, ${ms(abuse.off.lagSeconds)} before the first mix`;
  };
  check(
    'abuse: LRU-hit redirects under abuse >= 80% of without',
    abuse ? !abuse.failure && abuse.on.rps >= 0.8 * abuse.off.rps : null,
    abuse ? abuseDetail() : 'not measured',
  );
  check(
    'abuse: API RSS < 300 MiB under abuse',
    abuse ? !abuse.failure && abuse.on.rssMiB < 300 : null,
    !abuse
      ? 'not measured'
      : abuse.failure
        ? 'FAILED: see the line above'
        : `${Math.round(abuse.on.rssMiB)} MiB at most under the mix (${Math.round(abuse.off.rssMiB)} MiB before it)`,
  );
  const seed10m = results.seeds.find((s) => s.links === 10_000_000);
  check(
    'loading 10M links < 5 minutes',
    seed10m ? seed10m.seedSeconds < 300 : null,
    seed10m ? `${Math.round(seed10m.seedSeconds)} s (secondary indexes ${Math.round(seed10m.indexSeconds)} s of it)` : 'not measured',
  );
  const failed = lines.filter((l) => l.ok === false).map((l) => l.name);
  const text = [
    'targets:',
    ...lines.map((l) => `  ${l.ok === null ? 'SKIP' : l.ok ? 'ok  ' : 'FAIL'} ${l.name}: ${l.detail}`),
    failed.length
      ? `${failed.length} target(s) not met: ${failed.join('; ')}`
      : `all measured targets met${lines.some((l) => l.ok === null) ? ` (${lines.filter((l) => l.ok === null).length} not measured: run every row and scale${scales.length < 3 ? ', --scales 10k,1m,10m' : ''})` : ''}`,
  ];
  return { text: text.join('\n'), failed };
}

/**
 * Draws cold-redirect throughput and latency against stored links with
 * gnuplot (Debian's gnuplot-nox). Returns the PNG path, or null without gnuplot
 * or with fewer than two scales.
 */
export function writePlot(results, outDir, workDir) {
  const cold = results.rows.filter((r) => /^cold-\d+$/.test(r.key)).sort((a, b) => a.links - b.links);
  if (cold.length < 2) return null;
  const paced = (links) => results.rows.find((r) => r.key === `cold-paced-${links}`)?.latencyMs ?? { p50: NaN, p99: NaN };
  if (spawnSync('gnuplot', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const data = path.join(workDir, 'cold.dat');
  writeFileSync(
    data,
    cold
      .map((r) => `${r.links} ${r.rps.toFixed(0)} ${r.latencyMs.p50} ${r.latencyMs.p99} ${r.latencyMs.p999} ${paced(r.links).p50} ${paced(r.links).p99}`)
      .join('\n') + '\n',
  );
  const png = path.join(outDir, 'cold-scaling.png');
  const script = `
set terminal png size 960,540 font ",11"
set output '${png}'
set title "Cold redirects (LRU off, Redis missed, served by PostgreSQL) vs stored links\\n${results.machine.cpus} CPUs, ${results.settings.connections} connections, ${results.loadTool}"
set logscale x 10
set xrange [${cold[0].links / 3}:${cold[cold.length - 1].links * 3}]
set format x "10^{%L}"
set xlabel "stored links"
set ylabel "redirects per second"
set y2label "latency (ms)"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set key below horizontal
set grid
plot '${data}' using 1:2 with linespoints lw 2 pt 7 title "throughput (req/s)", \\
     '' using 1:3 axes x1y2 with linespoints lw 2 pt 5 title "p50 at full speed (ms)", \\
     '' using 1:4 axes x1y2 with linespoints lw 2 pt 9 title "p99 at full speed (ms)", \\
     '' using 1:6 axes x1y2 with linespoints lw 2 dt 2 pt 4 title "p50 at ${fmtInt(COLD_PACED_RATE)}/s (ms)", \\
     '' using 1:7 axes x1y2 with linespoints lw 2 dt 2 pt 8 title "p99 at ${fmtInt(COLD_PACED_RATE)}/s (ms)"
`;
  const script2 = path.join(workDir, 'cold.gp');
  writeFileSync(script2, script);
  const r = spawnSync('gnuplot', [script2], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gnuplot failed: ${r.stderr}`);
  return png;
}

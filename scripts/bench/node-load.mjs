// Fallback load generator of the bench for machines without wrk (the smoke
// test in CI): closed-loop keep-alive connections for a fixed time, the same
// request kinds and the same JSON summary line as the wrk scripts. A Node
// client costs more CPU per request than wrk, so its figures are lower bounds.
//   node scripts/bench/node-load.mjs '<json config>'
import http from 'node:http';
import { readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const target = new URL(o.url);
const codes = o.kind === 'codes' ? readFileSync(o.codesFile, 'utf8').split('\n').filter(Boolean) : [];
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
const latencies = [];
const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
let bytes = 0;
let next = 0;
let counter = 0;
const started = process.hrtime.bigint();
const deadline = Date.now() + o.seconds * 1000;

function once() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const post = o.kind === 'create';
    const body = post ? JSON.stringify({ url: `https://www.example.com/bench/node/${process.pid}/${++counter}` }) : undefined;
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        agent,
        method: post ? 'POST' : 'GET',
        path: post ? '/api/v1/links' : `/${codes[next++ % codes.length]}`,
        headers: post ? { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
        timeout: 10_000,
      },
      (res) => {
        res.on('data', (d) => (bytes += d.length));
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
          if (res.statusCode >= 400) errors.status += 1;
          resolve();
        });
      },
    );
    req.on('timeout', () => {
      errors.timeout += 1;
      req.destroy();
    });
    req.on('error', () => {
      errors.read += 1;
      resolve();
    });
    req.end(body);
  });
}

// With a rate, every request takes the next slot of one shared schedule (as codes.lua does).
let nextAt = performance.now();
async function connection() {
  while (Date.now() < deadline) {
    if (o.rate) {
      const now = performance.now();
      nextAt = Math.max(nextAt, now - 50) + 1000 / o.rate;
      if (nextAt > now) await new Promise((r) => setTimeout(r, nextAt - now));
    }
    await once();
  }
}

await Promise.all(Array.from({ length: o.connections }, connection));
const durationUs = Number(process.hrtime.bigint() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0;
process.stdout.write(
  `@@bench-json ${JSON.stringify({
    requests: latencies.length,
    duration_us: Math.round(durationUs),
    bytes,
    errors,
    latency_us: { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: latencies.at(-1) ?? 0, mean },
  })}\n`,
);
agent.destroy();

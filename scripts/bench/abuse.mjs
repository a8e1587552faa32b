// The abuse mix of the bench's abuse rows (scripts/bench/run.mjs, method in
// docs/benchmarks.md): hostile and heavy clients against one API, from a
// loopback source address of their own so that the API sees them as another
// peer than the redirect load. Runs until its time is up or SIGTERM, then
// closes every socket it opened and prints one summary line.
//
//   node scripts/bench/abuse.mjs '<json config>'
//
// Config: url (the API's base URL, loopback), localAddress (loopback source,
// e.g. 127.0.0.2), seconds, apiKey (a valid admin key: the bulk and slow-body
// clients send it), bulkBodyBytes (the bulk route's body limit), targetHost
// (host of every link target sent), and mix: { nested, slowHeaders,
// slowBody, wrongKeys, bulk } (concurrent clients of each kind) and
// wrongKeysPerSecond (the wrong keys' schedule). Prints `ready` once its
// bodies are built, then at the end `@@abuse-json {...}` with what each kind
// sent and how the API answered.
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

const o = JSON.parse(process.argv[2]);
const target = new URL(o.url);
const host = target.hostname;
const port = Number(target.port);

/** True for 127.0.0.0/8 and ::1: the only addresses this load may come from or go to. */
function isLoopback(address) {
  if (address === '::1' || address === '[::1]') return true;
  const parts = address.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
if (!isLoopback(host) || !isLoopback(o.localAddress)) {
  process.stderr.write(`abuse: ${host} and ${o.localAddress} must both be loopback addresses\n`);
  process.exit(2);
}

// ------------------------------------------------------------------ bodies

/** 4 MiB of nested arrays, `[[[...]]]`: valid JSON two million levels deep. */
const NESTED_BYTES = 4 * 1024 * 1024;
const nestedBody = Buffer.alloc(NESTED_BYTES, '[');
nestedBody.fill(']', NESTED_BYTES / 2);
const nestedHead = Buffer.from(
  `POST /api/v1/links HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${NESTED_BYTES}\r\n\r\n`,
  'latin1',
);

/**
 * A valid bulk create whose JSON is just under `limit` bytes (1 KiB of slack):
 * 1,000 items (fewer under a small limit), each with a 500-character title, 32
 * tags of 63 characters and a target padded to what is left, at most 8,000
 * bytes (MAX_TARGET_LENGTH_BYTES is 8,192 by default). Targets repeat a short
 * pattern so that PostgreSQL compresses them: the mix loads the API, not the disk.
 */
function bulkBody(limit, targetHost) {
  const pattern = 'abcdefghij';
  const fill = (n) => pattern.repeat(Math.ceil(n / pattern.length)).slice(0, n);
  const title = fill(500);
  const tags = Array.from({ length: 32 }, (_, t) => `${String(t).padStart(2, '0')}-${fill(60)}`);
  const item = (i, pad) => JSON.stringify({ url: `https://${targetHost}/${String(i).padStart(4, '0')}/${fill(pad)}`, title, tags });
  const frame = (list) => `{"items":[${list.join(',')}]}`;
  const budget = limit - 1_024;
  // Every item has the same length for a given padding (fixed-width index): the size is linear in it.
  const bare = Buffer.byteLength(item(0, 0));
  const items = Math.max(1, Math.min(1_000, Math.floor((budget - 12) / (bare + 1))));
  const pad = Math.max(0, Math.min(8_000 - `https://${targetHost}/0000/`.length, Math.floor((budget - 12 - items * (bare + 1)) / items)));
  return Buffer.from(frame(Array.from({ length: items }, (_, i) => item(i, pad))));
}
const bulk = o.mix.bulk > 0 ? bulkBody(o.bulkBodyBytes, o.targetHost) : Buffer.alloc(0);

// ------------------------------------------------------------------ bookkeeping

const started = Date.now();
const deadline = started + o.seconds * 1000;
let stopping = false;
const sockets = new Set();
const requests = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kind() {
  return { attempts: 0, answered: {}, cutBeforeAnswer: 0, errors: {}, heldMs: [] };
}
const stats = { nested: kind(), slowHeaders: kind(), slowBody: kind(), wrongKeys: kind(), bulk: kind() };
const count = (map, key) => (map[key] = (map[key] ?? 0) + 1);

/** The status code of an HTTP/1.1 response head at the start of `text`, or null. */
const statusOf = (text) => {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
};

/**
 * One raw connection that writes `head`, then `body` at once or `drip` bytes
 * every `dripMs`, and resolves when the connection is closed (by the API, or
 * here once an answer came and everything was written, or at the deadline):
 * to true when it never connected.
 */
function rawConnection(s, { head, body, drip, dripMs }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    s.attempts += 1;
    let connected = false;
    const socket = net.connect({ host, port, localAddress: o.localAddress });
    sockets.add(socket);
    let response = '';
    let status = null;
    let written = false;
    let timer = null;
    socket.setNoDelay(true);
    const finishIfDone = () => {
      if (status !== null && written) socket.destroy();
    };
    socket.on('connect', () => {
      connected = true;
      socket.write(head);
      if (body) {
        socket.write(body, () => {
          written = true;
          finishIfDone();
        });
      } else {
        timer = setInterval(() => socket.write(drip), dripMs);
      }
    });
    socket.on('data', (d) => {
      if (status !== null) return;
      response += d.toString('latin1');
      status = statusOf(response);
      // Whatever is not an HTTP/1.x status line is counted as status 0.
      if (status === null && response.length > 64) status = 0;
      if (status !== null) {
        count(s.answered, status);
        // A slow client gets nothing more from an answered request.
        if (!body) written = true;
        finishIfDone();
      }
    });
    socket.on('error', (e) => count(s.errors, e.code ?? e.message));
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
      if (connected && status === null && !stopping) s.cutBeforeAnswer += 1;
      if (connected && !stopping) s.heldMs.push(Date.now() - t0);
      resolve(!connected);
    });
  });
}

/**
 * Runs `once` back to back until the deadline, each round at least
 * `minCycleMs` long, and at least 100 ms after a round that failed to
 * connect: a refusing or dead API does not turn the mix into a spin.
 */
async function loop(once, minCycleMs) {
  while (!stopping && Date.now() < deadline) {
    const t0 = Date.now();
    const failed = await once();
    const rest = (failed ? Math.max(100, minCycleMs) : minCycleMs) - (Date.now() - t0);
    if (rest > 0 && !stopping) await sleep(Math.min(rest, Math.max(0, deadline - Date.now())));
  }
}

// ------------------------------------------------------------------ the clients

const slowHeaderHead = Buffer.from(`GET /api/v1/links HTTP/1.1\r\nHost: ${target.host}\r\nX-Slow: `, 'latin1');
// Under the every-route body limit, with a valid key: the API has to wait for the body.
const SLOW_BODY_LENGTH = 60_000;
const slowBodyHead = Buffer.from(
  `POST /api/v1/links HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${o.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${SLOW_BODY_LENGTH}\r\n\r\n{"url":"https://${o.targetHost}/`,
  'latin1',
);
const DRIP_MS = 1_000;

const agent = new http.Agent({ keepAlive: true, localAddress: o.localAddress, maxSockets: Math.max(1, o.mix.wrongKeys + o.mix.bulk) });
const adminPrefix = /^sk_([a-z0-9]+)_/.exec(o.apiKey)?.[1] ?? 'benchadmin0001';
const base62 = (n) => {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(n), (b) => alphabet[b % 62]).join('');
};
let wrongKeyCounter = 0;
/** Alternately an unknown prefix (a key lookup the API cannot cache) and the admin key's prefix with a wrong secret. */
function wrongKey() {
  wrongKeyCounter += 1;
  const prefix = wrongKeyCounter % 2 === 0 ? adminPrefix : randomBytes(6).toString('hex');
  return `sk_${prefix}_${base62(40)}`;
}

/** One HTTP request through the keep-alive agent; resolves when its answer was read (false) or it failed (true). */
function request(s, { method, path, headers, body, timeoutMs }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    s.attempts += 1;
    const req = http.request({ host, port, method, path, headers, agent, timeout: timeoutMs }, (res) => {
      count(s.answered, res.statusCode);
      res.on('data', () => undefined);
      res.on('error', () => undefined);
      // 'close' comes whether the answer ended or was cut off.
      res.on('close', () => {
        requests.delete(req);
        s.heldMs.push(Date.now() - t0);
        resolve(false);
      });
    });
    requests.add(req);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => {
      requests.delete(req);
      if (!stopping) count(s.errors, e.code ?? e.message);
      resolve(true);
    });
    req.end(body);
  });
}

const clients = [];
const times = (n, f) => {
  for (let i = 0; i < n; i++) clients.push(f());
};
process.stdout.write(`ready ${JSON.stringify({ nestedBytes: NESTED_BYTES, bulkBytes: bulk.length })}\n`);

times(o.mix.nested, () => loop(() => rawConnection(stats.nested, { head: nestedHead, body: nestedBody }), 20));
times(o.mix.slowHeaders, () => loop(() => rawConnection(stats.slowHeaders, { head: slowHeaderHead, drip: 'ab', dripMs: DRIP_MS }), 100));
times(o.mix.slowBody, () => loop(() => rawConnection(stats.slowBody, { head: slowBodyHead, drip: 'ab', dripMs: DRIP_MS }), 100));
// Wrong keys leave on one shared schedule of `wrongKeysPerSecond` (a stated
// load: unpaced, any cheap request would take the API's core in proportion
// to its clients' number); the clients are only how many may be in flight.
let nextWrongKeyAt = performance.now();
async function pacedWrongKey() {
  const now = performance.now();
  // After a stall the schedule catches up by at most 50 ms, not in one burst.
  nextWrongKeyAt = Math.max(nextWrongKeyAt, now - 50) + 1000 / o.mix.wrongKeysPerSecond;
  if (nextWrongKeyAt > now) await sleep(nextWrongKeyAt - now);
  if (stopping || Date.now() >= deadline) return false;
  return request(stats.wrongKeys, { method: 'GET', path: '/api/v1/links', headers: { authorization: `Bearer ${wrongKey()}` }, timeoutMs: 10_000 });
}
times(o.mix.wrongKeysPerSecond > 0 ? o.mix.wrongKeys : 0, () => loop(pacedWrongKey, 0));
times(o.mix.bulk, () =>
  loop(
    () =>
      request(stats.bulk, {
        method: 'POST',
        path: '/api/v1/links/bulk',
        headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', 'content-length': bulk.length },
        body: bulk,
        timeoutMs: 60_000,
      }),
    100,
  ),
);

// ------------------------------------------------------------------ the end

function stop() {
  if (stopping) return;
  stopping = true;
  for (const s of sockets) s.destroy();
  for (const r of requests) r.destroy();
  agent.destroy();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));

const percentile = (values, p) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
// Every client ends once stopped: the bound on waiting for them is only a guard.
await Promise.race([
  Promise.all(clients),
  sleep(o.seconds * 1000 + 5_000)
    .then(stop)
    .then(() => sleep(2_000)),
]);
stop();
clearTimeout(timer);
const summary = { seconds: (Date.now() - started) / 1000, nestedBytes: NESTED_BYTES, bulkBytes: bulk.length, bulkLimitBytes: o.bulkBodyBytes };
for (const [name, s] of Object.entries(stats)) {
  summary[name] = {
    attempts: s.attempts,
    answered: s.answered,
    cutBeforeAnswer: s.cutBeforeAnswer,
    errors: s.errors,
    heldMs: { p50: percentile(s.heldMs, 50), max: percentile(s.heldMs, 100) },
  };
}
process.stdout.write(`@@abuse-json ${JSON.stringify(summary)}\n`);
process.exit(0);

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { type CompiledApp, startCompiledApp } from '../support/compiled-app';
import { runConnFlood } from '../support/conn-flood';
import {
  createProbeLink,
  openKeptConnection,
  type KeptConnection,
  PROBE_ADDRESS,
  type RawExchange,
  rawExchange,
  type RawResponse,
  startProcessSampler,
  tcpState,
} from '../support/slow-http';
import { TEST_ADMIN_KEY, testEnv } from '../support/test-env';
import { waitUntil } from '../support/wait';
import { Client } from 'pg';

// Each limit is checked against its own bound: the API is started with small
// bounds and every cut must come no earlier than its bound and within five
// times it (the suite's margin for deadlines on a loaded 2-core machine).
// The bounds are apart so that one cut cannot be taken for another: the
// socket idle bound (body timeout) is the shortest, and the clients that must
// not be cut by it write every 100 ms; Node checks the headers and request
// bounds once a second, so they fire up to a second after they expire.
const HEADERS_TIMEOUT_MS = 1_000;
const BODY_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 2_000;
const TRICKLE_EVERY_MS = 100;
const MAX_CONNECTIONS = 50;
const MAX_DOWNLOADS = 4;
const SEND_TIMEOUT_MS = 1_000;
const MARGIN = 5;
// Timers fire up to a few milliseconds early relative to performance.now() on the other side.
const EARLY_TOLERANCE_MS = 20;
// A connection over the cap must be closed as it is accepted: 200 ms covers a
// busy event loop; the bound asserted is five times that.
const AT_ONCE_MS = 200;
const LOW_FD_LIMIT = 512;
const EMFILE_ATTEMPTS = 2_000;

const PROBLEM_TYPE = (code: string) => `urn:shortener:problem:${code}`;

/** The problem a response carries: status, media type, `type`, `status` member, and whether the server announced the close. */
function problemOf(response: RawResponse | null): { status: number; contentType: string; type: unknown; bodyStatus: unknown; connection: string } | null {
  if (!response) return null;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // Not JSON: the fields below then show what arrived instead.
  }
  return {
    status: response.status,
    contentType: (response.headers['content-type'] ?? '').split(';')[0],
    type: body.type,
    bodyStatus: body.status,
    connection: (response.headers.connection ?? '').toLowerCase(),
  };
}

function expectedProblem(status: number, code: string) {
  return { status, contentType: 'application/problem+json', type: PROBLEM_TYPE(code), bodyStatus: status, connection: 'close' };
}

/** The connection was closed by the server (not still open at the exchange's deadline). */
function expectClosedByServer(exchange: RawExchange): void {
  expect(exchange.ending).not.toBe('timeout');
}

const trickle = (count: number, everyMs: number, bytes: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => [{ pauseMs: everyMs }, bytes(i)]).flat();

describe('HTTP limits of the compiled API, each against its own bound', () => {
  let app: CompiledApp;
  let port: number;
  let code: string;

  beforeAll(async () => {
    app = await startCompiledApp('api', {
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      // A bulk at the size limit must arrive within half the request timeout (a configuration check).
      HTTP_BULK_BODY_BYTES_PER_SECOND: String(64 * 1024 * 1024),
      HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      HTTP_MAX_DOWNLOADS: String(MAX_DOWNLOADS),
      HTTP_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
    });
    port = Number(new URL(app.url).port);
    code = await createProbeLink(app.url);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
  });

  afterEach(() => {
    expect({ exitCode: app.child.exitCode, signal: app.child.signalCode }).toEqual({ exitCode: null, signal: null });
  });

  it('slow headers are cut after HTTP_HEADERS_TIMEOUT_MS with a 408 problem', async () => {
    // A header line every 100 ms: the connection is never idle for the body
    // timeout, so only the headers bound can end it.
    const lines = (MARGIN * HEADERS_TIMEOUT_MS) / TRICKLE_EVERY_MS + 10;
    const exchange = await rawExchange(
      port,
      [`GET /${code} HTTP/1.1\r\nHost: short.example\r\n`, ...trickle(lines, TRICKLE_EVERY_MS, (i) => `X-Slow-${i}: 1\r\n`)],
      {
        deadlineMs: MARGIN * HEADERS_TIMEOUT_MS,
      },
    );
    console.log(
      `slow headers cut after ${exchange.closedAfterMs.toFixed(0)} ms (bound ${HEADERS_TIMEOUT_MS} ms): ${exchange.received.toString().split('\r\n')[0]}`,
    );
    expectClosedByServer(exchange);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - EARLY_TOLERANCE_MS);
    expect(problemOf(exchange.response)).toEqual(expectedProblem(408, 'request-timeout'));
  });

  it('a connection that never sends a byte is closed, unanswered, after the socket idle bound (HTTP_BODY_TIMEOUT_MS)', async () => {
    // No request was begun, so there is nothing to answer: the idle bound,
    // shorter than the headers bound here, closes it without a response.
    const exchange = await rawExchange(port, [], { deadlineMs: MARGIN * BODY_TIMEOUT_MS });
    console.log(`silent connection closed after ${exchange.closedAfterMs.toFixed(0)} ms (bound ${BODY_TIMEOUT_MS} ms): ${exchange.received.length} bytes`);
    expectClosedByServer(exchange);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - EARLY_TOLERANCE_MS);
    expect(exchange.received.toString('latin1')).toBe('');
  });

  it('a body that stalls mid-upload is cut after HTTP_BODY_TIMEOUT_MS with a 408 problem', async () => {
    const body = JSON.stringify({ url: 'https://example.com/a-body-that-stalls', tags: ['stall'] });
    const head =
      `POST /api/v1/links HTTP/1.1\r\nHost: short.example\r\nAuthorization: Bearer ${TEST_ADMIN_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const exchange = await rawExchange(port, [head, body.slice(0, 20)], { deadlineMs: MARGIN * BODY_TIMEOUT_MS + 100 });
    console.log(
      `stalled body cut ${exchange.closedAfterLastWriteMs.toFixed(0)} ms after its last byte (bound ${BODY_TIMEOUT_MS} ms): ${exchange.received.toString().split('\r\n')[0]}`,
    );
    expectClosedByServer(exchange);
    expect(exchange.closedAfterLastWriteMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - EARLY_TOLERANCE_MS);
    expect(exchange.closedAfterLastWriteMs).toBeLessThanOrEqual(MARGIN * BODY_TIMEOUT_MS);
    expect(problemOf(exchange.response)).toEqual(expectedProblem(408, 'request-timeout'));
  });

  it('a body trickled under the idle bound is cut after HTTP_REQUEST_TIMEOUT_MS with a 408 problem', async () => {
    const head =
      `POST /api/v1/links HTTP/1.1\r\nHost: short.example\r\nAuthorization: Bearer ${TEST_ADMIN_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"url":"https://example.com/`;
    // One byte every 100 ms (never idle for the body timeout), for longer than five times the bound.
    const bytes = (MARGIN * REQUEST_TIMEOUT_MS) / TRICKLE_EVERY_MS + 10;
    const exchange = await rawExchange(port, [head, ...trickle(bytes, TRICKLE_EVERY_MS, () => 'a')], { deadlineMs: MARGIN * REQUEST_TIMEOUT_MS });
    console.log(
      `trickled body cut after ${exchange.closedAfterMs.toFixed(0)} ms (bound ${REQUEST_TIMEOUT_MS} ms): ${exchange.received.toString().split('\r\n')[0]}`,
    );
    expectClosedByServer(exchange);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - EARLY_TOLERANCE_MS);
    expect(problemOf(exchange.response)).toEqual(expectedProblem(408, 'request-timeout'));
  }, 30_000);

  it('a reader that stops taking the response is cut after HTTP_BODY_TIMEOUT_MS', async () => {
    // Ten pipelined pages of 100 links with 7.5 kB targets (about 800 kB
    // each), never read: more than the kernel's buffers on both sides hold,
    // so the server's writes stall.
    const auth = `Bearer ${TEST_ADMIN_KEY}`;
    const items = Array.from({ length: 100 }, (_, i) => ({ url: `https://example.com/${i}?pad=${'p'.repeat(7_500)}` }));
    const bulk = await fetch(`${app.url}/api/v1/links/bulk`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    expect(bulk.status).toBe(200);
    const page = `GET /api/v1/links?limit=100 HTTP/1.1\r\nHost: short.example\r\nAuthorization: ${auth}\r\n\r\n`;
    const size = Number((await fetch(`${app.url}/api/v1/links?limit=100`, { headers: { authorization: auth } }).then((r) => r.arrayBuffer())).byteLength);
    expect(size).toBeGreaterThan(700_000);
    const socket = connect({ host: '127.0.0.1', port });
    try {
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.pause();
      let ending = '';
      socket.on('error', (e: NodeJS.ErrnoException) => (ending ||= e.code ?? e.message));
      socket.once('end', () => (ending ||= 'end'));
      const sent = performance.now();
      socket.write(page.repeat(10));
      let cutAfterMs = NaN;
      while (performance.now() - sent < MARGIN * BODY_TIMEOUT_MS + 2_000) {
        if (tcpState(port, socket.localPort!) !== 'ESTABLISHED') {
          cutAfterMs = performance.now() - sent;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      const drained = performance.now();
      while (!ending && performance.now() - drained < 5_000) await new Promise((r) => setTimeout(r, 20));
      console.log(
        `stalled reader cut ${cutAfterMs.toFixed(0)} ms after its requests (bound ${BODY_TIMEOUT_MS} ms), ${received} of ${10 * size} bytes delivered, ${ending}`,
      );
      expect(cutAfterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - EARLY_TOLERANCE_MS);
      // The requests themselves take their share of the bound: ten pages are read from PostgreSQL and serialized first.
      expect(cutAfterMs).toBeLessThanOrEqual(MARGIN * BODY_TIMEOUT_MS + 2_000);
      expect(ending).not.toBe('');
      expect(received).toBeLessThan(10 * size);
    } finally {
      socket.destroy();
    }
  });

  it('a request received whole is answered even when its handler outlives HTTP_BODY_TIMEOUT_MS (the bound is on the client)', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ url: `https://example.com/slow-handler/${i}?pad=${'p'.repeat(2_000)}` }));
    // The handler waits for PostgreSQL: inserts queue behind a lock held for three times the idle bound.
    const db = new Client({ connectionString: testEnv().DATABASE_URL });
    await db.connect();
    await db.query('BEGIN');
    await db.query('LOCK TABLE links IN SHARE MODE');
    const released = new Promise((r) => setTimeout(r, 3 * BODY_TIMEOUT_MS)).then(() => db.query('COMMIT')).finally(() => db.end());
    const started = performance.now();
    const res = await fetch(`${app.url}/api/v1/links/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    const tookMs = performance.now() - started;
    await released;
    const results = ((await res.json()) as { results: { status: number }[] }).results;
    console.log(`bulk create of 1,000 answered ${res.status} after ${tookMs.toFixed(0)} ms (idle bound ${BODY_TIMEOUT_MS} ms)`);
    expect(tookMs).toBeGreaterThan(BODY_TIMEOUT_MS);
    expect([res.status, results.filter((r) => r.status === 201).length]).toEqual([200, 1000]);
  });

  it('documentation downloads: at most HTTP_MAX_DOWNLOADS in flight until read, the next 503 with Retry-After, unread ones reset after HTTP_SEND_TIMEOUT_MS', async () => {
    const asset = '/api/docs/swagger-ui-bundle.js';
    // Pipelined downloads on connections closed soon after take no slot of their own, and leave none behind.
    for (let i = 0; i < 3; i += 1) {
      const pipelined = connect({ host: '127.0.0.1', port });
      await new Promise((resolve, reject) => pipelined.once('connect', resolve).once('error', reject));
      pipelined.on('error', () => undefined);
      pipelined.write(`GET ${asset} HTTP/1.1\r\nHost: short.example\r\n\r\n`.repeat(10));
      await new Promise((r) => setTimeout(r, 50));
      pipelined.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    const parallel = await Promise.all(
      Array.from({ length: MAX_DOWNLOADS }, () => fetch(`${app.url}${asset}`).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength])),
    );
    expect(parallel).toEqual(Array(MAX_DOWNLOADS).fill([200, 1_556_354]));
    const stalled = Array.from({ length: MAX_DOWNLOADS }, () => connect({ host: '127.0.0.1', port }));
    const endings: string[] = [];
    try {
      const started = performance.now();
      for (const socket of stalled) {
        await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        socket.pause();
        socket.on('error', (e: NodeJS.ErrnoException) => endings.push(e.code ?? e.message));
        socket.write(`GET ${asset} HTTP/1.1\r\nHost: short.example\r\n\r\n`);
      }
      await new Promise((r) => setTimeout(r, 200));
      const refused = await fetch(`${app.url}${asset}`);
      expect({ status: refused.status, retryAfter: refused.headers.get('retry-after'), type: ((await refused.json()) as { type: string }).type }).toEqual({
        status: 503,
        retryAfter: '1',
        type: PROBLEM_TYPE('overloaded'),
      });
      // The unread downloads are reset once HTTP_SEND_TIMEOUT_MS has passed: the server's sockets disappear, their slots free up.
      const deadline = performance.now() + MARGIN * SEND_TIMEOUT_MS;
      while (stalled.some((socket) => tcpState(port, socket.localPort!) !== null) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const resetAfterMs = performance.now() - started;
      for (const socket of stalled) socket.resume();
      while (endings.length < MAX_DOWNLOADS && performance.now() < deadline + 2_000) await new Promise((r) => setTimeout(r, 20));
      console.log(`stalled downloads ended ${JSON.stringify(endings)} after ${resetAfterMs.toFixed(0)} ms (bound ${SEND_TIMEOUT_MS} ms)`);
      expect(endings).toEqual(Array(MAX_DOWNLOADS).fill('ECONNRESET'));
      expect(resetAfterMs).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS - EARLY_TOLERANCE_MS);
      expect(resetAfterMs).toBeLessThanOrEqual(MARGIN * SEND_TIMEOUT_MS);
      // A client that reads the whole download gives its slot back: more downloads than slots, one after another.
      for (let i = 0; i < MAX_DOWNLOADS + 2; i += 1) {
        const res = await fetch(`${app.url}${asset}`);
        expect([res.status, (await res.arrayBuffer()).byteLength]).toEqual([200, 1_556_354]);
      }
    } finally {
      for (const socket of stalled) socket.destroy();
    }
  });

  it('connections beyond HTTP_MAX_CONNECTIONS are closed at once, unanswered, and the held ones keep being served', async () => {
    // Connections of earlier tests (fetch keeps idle ones a few seconds) count against the cap: wait them out.
    const open = () =>
      readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .filter(
          (l) =>
            l
              .trim()
              .split(/\s+/)[1]
              ?.endsWith(`:${port.toString(16).toUpperCase().padStart(4, '0')}`) && ['01', '08'].includes(l.trim().split(/\s+/)[3]),
        ).length;
    const quiet = Date.now() + 15_000;
    while (open() > 0 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 100));
    const redirect = `GET /${code} HTTP/1.1\r\nHost: short.example\r\n\r\n`;
    const held: KeptConnection[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i += 1) {
        const connection = await openKeptConnection(port);
        held.push(connection);
        expect((await connection.request(redirect)).status).toBe(302);
      }
      const excess: RawExchange[] = [];
      for (let i = 0; i < 10; i += 1) excess.push(await rawExchange(port, [redirect], { deadlineMs: MARGIN * AT_ONCE_MS }));
      const cutAfter = excess.map((e) => Math.round(e.closedAfterMs));
      console.log(`connections over the cap of ${MAX_CONNECTIONS} closed after ${JSON.stringify(cutAfter)} ms (${excess.map((e) => e.ending).join(', ')})`);
      expect(excess.map((e) => ({ closed: e.ending !== 'timeout', bytes: e.received.length }))).toEqual(Array(10).fill({ closed: true, bytes: 0 }));
      expect((await held[0].request(redirect)).status).toBe(302);
      expect(held.filter((c) => c.closed())).toEqual([]);
      // Freed slots are taken again.
      for (const connection of held.splice(0, 5)) connection.close();
      const served = await waitUntil(
        'a freed slot to answer',
        async () => {
          const exchange = await rawExchange(port, [redirect.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')], { deadlineMs: 2_000 });
          return { done: exchange.response !== null, state: exchange };
        },
        { timeoutMs: 5_000, intervalMs: 50 },
      );
      expect(served.response?.status).toBe(302);
    } finally {
      for (const connection of held) connection.close();
    }
  });

  describe('request smuggling shapes are refused with 400 and the connection closed', () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: short.example\r\n\r\n';
    const post = (headers: string, body: string) =>
      `POST /api/v1/links HTTP/1.1\r\nHost: short.example\r\nAuthorization: Bearer ${TEST_ADMIN_KEY}\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
    it.each([
      ['Content-Length with Transfer-Encoding: chunked', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled}`)],
      ['Transfer-Encoding: chunked with Content-Length', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', `0\r\n\r\n${smuggled}`)],
      ['two different Content-Length headers', post('Content-Length: 2\r\nContent-Length: 48\r\n', `{}${smuggled}`)],
    ])('%s', async (_shape, raw) => {
      const exchange = await rawExchange(port, [raw], { deadlineMs: 5_000 });
      expectClosedByServer(exchange);
      expect(problemOf(exchange.response)).toEqual(expectedProblem(400, 'validation-failed'));
      // One response: the smuggled request was never read as a request.
      expect(exchange.received.toString('latin1').match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 400']);
    });
  });

  it('headers over 16 KiB are refused with a 431 problem and the connection closed', async () => {
    const exchange = await rawExchange(port, [`GET /${code} HTTP/1.1\r\nHost: short.example\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`], {
      deadlineMs: 5_000,
    });
    expectClosedByServer(exchange);
    expect(problemOf(exchange.response)).toEqual(expectedProblem(431, 'request-header-too-large'));
  });
});

describe(`the compiled API with ${LOW_FD_LIMIT} file descriptors`, () => {
  let app: CompiledApp;

  afterAll(async () => {
    await app?.stop();
  });

  it(`survives ${EMFILE_ATTEMPTS} connection attempts that exhaust them (EMFILE) and serves again afterwards`, async () => {
    // Load shedding on, as the app ships (the test environment turns it off): its sampling must survive running out of descriptors too.
    app = await startCompiledApp('api', { HTTP_MAX_EVENT_LOOP_DELAY_MS: '1000' }, { fdLimit: LOW_FD_LIMIT });
    const port = Number(new URL(app.url).port);
    const code = await createProbeLink(app.url);
    const sampler = startProcessSampler(app.child.pid!, 100);
    const flood = await runConnFlood({ port, connections: EMFILE_ATTEMPTS, holdMs: 3_000, openTimeoutMs: 15_000 });
    const seen = sampler.stop();
    console.log(
      `fd limit ${LOW_FD_LIMIT}: open fds peak ${seen.peakFds}, RSS peak ${(seen.peakRssKiB / 1024).toFixed(1)} MiB; attacker: ${JSON.stringify(flood)}`,
    );
    expect({ exitCode: app.child.exitCode, signal: app.child.signalCode, vanished: seen.vanished }).toEqual({ exitCode: null, signal: null, vanished: false });
    // The limit applied, and the attempts used it up: accepts failed with EMFILE.
    expect(/^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${app.child.pid}/limits`, 'utf8'))?.slice(1)).toEqual([
      String(LOW_FD_LIMIT),
      String(LOW_FD_LIMIT),
    ]);
    expect(seen.peakFds).toBeGreaterThanOrEqual(LOW_FD_LIMIT - 8);
    expect(flood.connected).toBe(EMFILE_ATTEMPTS);
    // Serves again, redirects and writes (a new database connection may be needed), from another address.
    const startedAt = Date.now();
    const serving = await waitUntil(
      'redirects and writes to be served again',
      async () => {
        const redirect = await fetchStatus(`${app.url}/${code}`, PROBE_ADDRESS);
        const created = await createProbeLink(app.url).then(
          () => 201,
          () => 0,
        );
        return { done: redirect === 302 && created === 201, state: { redirect, created } };
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    console.log(`serving again ${Date.now() - startedAt} ms after the attackers closed their connections`);
    expect(serving).toEqual({ redirect: 302, created: 201 });
    expect((await fetch(`${app.managementUrl}/health/ready`)).status).toBe(200);
  }, 90_000);
});

/** Status of `GET url` sent from `localAddress` on a new connection, or 0 when the exchange fails. */
function fetchStatus(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { localAddress, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.once('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => {
      resolve(0);
    });
    req.end();
  });
}

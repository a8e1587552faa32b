import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CompiledApp, READY_TIMEOUT_MS, startCompiledApp, TRACING_REGISTER } from '../support/compiled-app';
import { waitUntil } from '../support/wait';
import { OtlpReceiver, startOtlpReceiver } from '../support/otlp-receiver';
import { runId, TEST_ADMIN_KEY, workerId } from '../support/test-env';

/**
 * Traces, exemplars and logs of the compiled apps (auto-instrumentation does
 * not hook Jest's module loader, docs/design.md section 10), exported over
 * OTLP/HTTP (JSON encoding) to a receiver inside the test.
 */

const SCOPE = {
  http: '@opentelemetry/instrumentation-http',
  ioredis: '@opentelemetry/instrumentation-ioredis',
  pg: '@opentelemetry/instrumentation-pg',
};
const OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const otelEnv = (receiver: OtlpReceiver, sampler: Record<string, string>) => ({
  OTEL_SDK_DISABLED: 'false',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  ...sampler,
});

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

async function scrape(app: CompiledApp, accept?: string): Promise<{ contentType: string; body: string }> {
  const res = await fetch(`${app.managementUrl}/metrics`, { headers: accept ? { accept } : {} });
  return { contentType: String(res.headers.get('content-type')), body: await res.text() };
}

describe('tracing, exemplars and request logs (compiled apps)', () => {
  let receiver: OtlpReceiver;
  let api: CompiledApp;
  let worker: CompiledApp;
  const alias = `tr-${process.env.JEST_WORKER_ID ?? '1'}-${hex(4)}`;
  const missTrace = hex(16);
  const hitTrace = hex(16);
  const notSampledTrace = hex(16);
  const incomingSpan = hex(8);
  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const redirect = (headers: Record<string, string>) => fetch(`${api.url}/${alias}`, { redirect: 'manual', headers });

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // API at ratio 0: only requests with a sampled incoming traceparent are
    // traced. Worker with the default sampler: every batch span is sampled.
    // A queue of their own: the worker must not first chew through clicks
    // other files of this Jest worker left in the default queue.
    const queue = { QUEUE_PREFIX: `{test-${runId()}-w${workerId()}-tracing}`, REDIS_KEY_PREFIX: `test:${runId()}:w${workerId()}:tracing:` };
    [api, worker] = await Promise.all([
      startCompiledApp(
        'api',
        { ...otelEnv(receiver, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }), ...queue, LOG_LEVEL: 'info' },
        { tracing: true },
      ),
      startCompiledApp('worker', { ...otelEnv(receiver, {}), ...queue }, { tracing: true }),
    ]);
    const created = await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json', 'x-request-id': `create-${alias}` },
      body: JSON.stringify({ url: `https://example.com/${alias}`, alias }),
    });
    expect(created.status).toBe(201);
    // A miss (Redis, then PostgreSQL), an unsampled LRU hit, a sampled LRU hit, a parent that says "not sampled".
    const statuses = [
      (await redirect({ traceparent: `00-${missTrace}-${incomingSpan}-01` })).status,
      (await redirect({})).status,
      (await redirect({ traceparent: `00-${hitTrace}-${incomingSpan}-01` })).status,
      (await redirect({ traceparent: `00-${notSampledTrace}-${incomingSpan}-00` })).status,
    ];
    expect(statuses).toEqual([302, 302, 302, 302]);
    await waitUntil(
      'the server spans of both sampled redirects',
      () => [missTrace, hitTrace].every((t) => spansOf(t).some((s) => s.scope === SCOPE.http && s.kind === 2)),
      { timeoutMs: 15_000 },
    );
  }, 2 * READY_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await receiver?.close();
  }, 30_000);

  it('traces a sampled redirect: a server span named by the route with ioredis and pg children, service shortener-api', () => {
    const spans = spansOf(missTrace);
    const server = spans.find((s) => s.scope === SCOPE.http)!;
    expect({ name: server.name, kind: server.kind, parent: server.parentSpanId, route: server.attributes['http.route'] }).toEqual({
      name: 'GET /:code',
      kind: 2,
      parent: incomingSpan,
      route: '/:code',
    });
    expect([...new Set(spans.map((s) => s.service))]).toEqual(['shortener-api']);
    // The redirect route is outside the Fastify instrumentation: no request or handler span of its own.
    expect([...new Set(spans.map((s) => s.scope))].sort()).toEqual([SCOPE.http, SCOPE.ioredis, SCOPE.pg].sort());
    // One tree under the server span: every other span's parent is in the trace.
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s !== server && !ids.has(s.parentSpanId))).toEqual([]);
    const underServer = spans.filter((s) => s.parentSpanId === server.spanId).map((s) => `${s.scope} ${s.name.split(':')[0]}`);
    expect(underServer).toEqual(expect.arrayContaining([`${SCOPE.ioredis} mget`, `${SCOPE.pg} pg.query`]));
  });

  it('traces a cached redirect without storage spans, and nothing of unsampled requests', () => {
    expect(spansOf(hitTrace).map((s) => [s.scope, s.name])).toEqual([[SCOPE.http, 'GET /:code']]);
    // The create, the unsampled redirect and the "not sampled" parent made no span at all.
    expect([...new Set(receiver.spans.filter((s) => s.service === 'shortener-api').map((s) => s.traceId))].sort()).toEqual([missTrace, hitTrace].sort());
  });

  it('links the worker batch spans to the sampled redirect spans whose clicks they counted', async () => {
    const serverOf = (traceId: string) => spansOf(traceId).find((s) => s.scope === SCOPE.http && s.kind === 2)!;
    const expected = [missTrace, hitTrace].map((t) => ({ traceId: t, spanId: serverOf(t).spanId }));
    const batches = () => receiver.spans.filter((s) => s.service === 'shortener-worker' && s.name === 'process clicks');
    const links = () => batches().flatMap((s) => s.links);
    await waitUntil(
      'batch spans linking both sampled redirects',
      () => expected.every((e) => links().some((l) => l.traceId === e.traceId && l.spanId === e.spanId)),
      { timeoutMs: 30_000 },
    );
    // Only sampled redirects carry a traceparent: the unsampled click adds no link.
    expect(links().sort((a, b) => a.traceId.localeCompare(b.traceId))).toEqual(expected.sort((a, b) => a.traceId.localeCompare(b.traceId)));
    const batch = batches().find((s) => s.links.length > 0)!;
    expect({
      kind: batch.kind,
      parent: batch.parentSpanId,
      system: batch.attributes['messaging.system'],
      queue: batch.attributes['messaging.destination.name'],
    }).toEqual({
      kind: 5,
      parent: '',
      system: 'bullmq',
      queue: 'clicks',
    });
    // The rollup's queries are its children, in the worker's service.
    await waitUntil('the rollup queries of a linked batch', () => receiver.spans.some((s) => s.parentSpanId === batch.spanId && s.scope === SCOPE.pg), {
      timeoutMs: 15_000,
    });
    expect([...new Set(spansOf(batch.traceId).map((s) => s.service))]).toEqual(['shortener-worker']);
  }, 60_000);

  it('scrapes OpenMetrics with trace id exemplars when negotiated, and promtool-clean text by default', async () => {
    const om = await scrape(api, OPENMETRICS_ACCEPT);
    expect(om.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    const exemplars = [
      ...om.body.matchAll(
        /^http_server_request_duration_seconds_bucket\{[^}]*route="\/:code"[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\} [0-9.e-]+ [0-9.]+$/gm,
      ),
    ];
    expect(exemplars.length).toBeGreaterThan(0);
    expect([...new Set(exemplars.map((m) => m[1]))].every((t) => t === missTrace || t === hitTrace)).toBe(true);

    const text = await scrape(api);
    expect(text.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body.includes(' # {')).toBe(false);
    expect(text.body).toMatch(/^http_server_request_duration_seconds_count\{method="GET",route="\/:code",status_code="302"\} 4$/m);
    expect(text.body).toMatch(/^http_server_request_duration_seconds_count\{method="POST",route="\/api\/v1\/links",status_code="201"\} 1$/m);
    expect(promtool(text.body)).toEqual({ status: 0, output: '' });
  });

  it('serves promtool-clean text metrics from the worker after it processed batches', async () => {
    const text = await scrape(worker);
    expect(text.body).toMatch(/^shortener_job_duration_seconds_count\{queue="clicks",name="click-batch",status="completed"\} [1-9]\d*$/m);
    expect(text.body).toMatch(/^shortener_queue_jobs\{queue="clicks",state="waiting"\} \d+$/m);
    expect(promtool(text.body)).toEqual({ status: 0, output: '' });
  });

  it('logs one JSON line per API request and per traced redirect, with trace ids, never a secret', () => {
    const requests = api.logLines().filter((l) => l.msg === 'request completed');
    // The time and the duration vary; their presence and type do not.
    const strip = ({ time, duration_ms, ...rest }: Record<string, unknown>): Record<string, unknown> => ({
      ...rest,
      time: typeof time,
      duration: typeof duration_ms,
    });
    const lines = requests.map(strip);
    expect(lines.find((l) => l.route === '/api/v1/links')).toEqual({
      level: 'info',
      service: 'shortener-api',
      time: 'string',
      duration: 'number',
      msg: 'request completed',
      request_id: `create-${alias}`,
      method: 'POST',
      route: '/api/v1/links',
      status: 201,
    });
    const redirects = lines.filter((l) => l.route === '/:code');
    expect(redirects.map((l) => [l.trace_id, l.status, l.method])).toEqual([
      [missTrace, 302, 'GET'],
      [hitTrace, 302, 'GET'],
    ]);
    const server = spansOf(missTrace).find((s) => s.scope === SCOPE.http)!;
    expect(redirects[0].span_id).toBe(server.spanId);
    expect(api.output().includes(TEST_ADMIN_KEY.split('_')[2])).toBe(false);
  });
});

describe('OTEL_SDK_DISABLED', () => {
  it('turns all of it off: no module patched, no tracer provider registered', () => {
    const probe = [
      "const http = require('http');",
      "const api = require('@opentelemetry/api');",
      'process.stdout.write(JSON.stringify({',
      '  http: http.Server.prototype.emit.name,',
      "  pg: Boolean(require('pg').Client.prototype.query.__wrapped),",
      '  provider: api.trace.getTracerProvider().getDelegate().constructor.name,',
      '}));',
      'process.exit(0);',
    ].join('\n');
    const run = (disabled: string) => {
      const env = { ...process.env, OTEL_SDK_DISABLED: disabled, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
      const r = spawnSync(process.execPath, ['--require', TRACING_REGISTER, '-e', probe], { cwd: path.resolve(__dirname, '../..'), env, encoding: 'utf8' });
      return JSON.parse(r.stdout || `{"stderr":${JSON.stringify(r.stderr)}}`);
    };
    // Enabled: http's emit is the head sampling gate in front of the instrumented one.
    expect([run('true'), run('false')]).toEqual([
      { http: 'emit', pg: false, provider: 'NoopTracerProvider' },
      { http: 'gatedEmit', pg: true, provider: 'TracerProvider' },
    ]);
  });
});

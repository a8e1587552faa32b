import fc from 'fast-check';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createdCode, mintKey } from '../support/links';

/**
 * Property-based fuzzing of the real app (DESIGN.md section 9): any JSON
 * body, header or path sent to any route answers 2xx, 3xx or a 4xx
 * problem+json, never a 5xx. Routes are the operations of the served
 * OpenAPI document, the redirect, and paths no route serves. Runs are
 * bounded (about 300 requests) to keep the file under a minute.
 */

type Method = 'get' | 'head' | 'post' | 'patch' | 'put' | 'delete' | 'options';
interface Operation {
  method: Method;
  /** OpenAPI path template, e.g. `/api/v1/links/{code}`. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  hasBody: boolean;
}
interface Request {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  rawBody?: string;
}

const SEED = 20261129;

/** Header names a client may not forge without breaking HTTP framing or the test client itself. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'host', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'http2-settings']);

const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
/** Any code points, controls and U+0000 included. */
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
/** Percent-encodes what can be encoded (a lone surrogate cannot: it is replaced). */
const encode = (s: string) => encodeURIComponent(s.toWellFormed());
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/);
/** A path segment: any Unicode, percent-encoded, or a raw tricky one. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  anyText(12).map(encode),
  fc.constantFrom('', '.', '..', '%', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', 'api', 'docs', '~', "'", '%C0%AF', 'a'.repeat(1100)),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,40}$/),
);
const queryString = fc.array(fc.tuple(fc.oneof(token, printable(10), anyText(6)), fc.oneof(printable(30), anyText(20), fc.constantFrom('', '-1', '0', '101', '1e309', 'null', '[]'))), { maxLength: 4 }).map((pairs) =>
  pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&'),
);
const text = (maxLength: number) => fc.oneof(printable(maxLength), anyText(maxLength));
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
  // Shaped like the API's bodies, so the fuzz gets past the first member check.
  fc.record(
    {
      url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), text(60), fc.jsonValue({ maxDepth: 1 })),
      alias: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 70 }), fc.jsonValue({ maxDepth: 1 })),
      domain: fc.oneof(fc.domain(), text(20)),
      expiresAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), text(30), fc.integer()),
      maxClicks: fc.oneof(fc.integer(), fc.double(), fc.constant(null)),
      redirectType: fc.oneof(fc.constantFrom(301, 302, 307, 308), fc.integer()),
      forwardQuery: fc.oneof(fc.boolean(), fc.constant(null)),
      tags: fc.oneof(fc.array(text(70), { maxLength: 40 }), fc.constant(null)),
      title: fc.oneof(text(600), fc.constant(null)),
      host: fc.oneof(fc.domain(), text(40)),
      reason: text(600),
      name: text(220),
      role: fc.constantFrom('admin', 'member', 'read_only', 'root'),
      rateLimitPerMinute: fc.oneof(fc.integer(), fc.constant(null)),
      items: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
    },
    { requiredKeys: [] },
  ),
);

/** Every operation of the served OpenAPI document. */
function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>> }): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    (['get', 'head', 'post', 'patch', 'put', 'delete'] as const)
      .filter((m) => item[m])
      .map((method) => ({
        method,
        path,
        pathParams: (item[method].parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: (item[method].parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        hasBody: item[method].requestBody !== undefined,
      })),
  );
}

describe('fuzzing the real app: never a 5xx', () => {
  let api: TestApi;
  let operations: Operation[];
  let keys: { member: string; readOnly: string };
  let knownCode: string;
  let blockedBefore: string[];
  const seen = new Map<string, number>();

  beforeAll(async () => {
    api = await startTestApi();
    const doc = await api.http().get('/api/openapi.json');
    operations = operationsOf(doc.body);
    const member = await mintKey(api, 'member');
    keys = { member: member.auth, readOnly: (await mintKey(api, 'read_only', member.accountId)).auth };
    knownCode = await createdCode(api, { url: 'https://example.com/fuzz', alias: uniqueAlias('fuzz') }, member.auth);
    blockedBefore = (await api.app.get(DataSource).query('SELECT host FROM blocked_hosts')).map((r: { host: string }) => r.host);
  });
  afterAll(async () => {
    // Hosts the fuzz blocked would refuse other files' targets in this worker's database.
    await api.app.get(DataSource).query('DELETE FROM blocked_hosts WHERE NOT (host = ANY($1))', [blockedBefore]);
    await api.close();
  });

  const authorization = () =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(api.adminAuth) },
      fc.constant(keys.member),
      fc.constant(keys.readOnly),
      fc.constant(undefined),
      printable(80),
      fc.constant('Bearer sk_abcdefgh_0123456789abcdefghijklmnopqrstuv'),
    );
  const headers = () =>
    fc
      .record(
        {
          authorization: authorization(),
          'content-type': fc.oneof(fc.constantFrom('application/json', 'application/merge-patch+json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', ''), printable(40)),
          'idempotency-key': fc.oneof(printable(40), fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'))),
          'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), printable(40)),
          'x-request-id': printable(140),
          accept: fc.oneof(fc.constantFrom('application/json', 'application/problem+json', '*/*', 'text/html'), printable(30)),
          'user-agent': printable(200),
          referer: printable(100),
          extra: fc.tuple(token.filter((n) => !FRAMING_HEADERS.has(n.toLowerCase())), printable(100)),
        },
        { requiredKeys: [] },
      )
      .map(({ extra, authorization: auth, ...rest }) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== '') out[k] = v;
        if (auth !== undefined) out.authorization = auth;
        if (extra && !(extra[0].toLowerCase() in out)) out[extra[0]] = extra[1];
        return out;
      });

  /** A request to one documented operation, with fuzzed parameters, headers and body. */
  const apiRequest = () =>
    fc
      .record({
        op: fc.constantFrom(...operations),
        params: fc.array(fc.oneof(segment, fc.constant(knownCode), fc.uuid()), { minLength: 4, maxLength: 4 }),
        query: fc.oneof(queryString, fc.constant('')),
        knownQuery: fc.array(fc.tuple(fc.nat(9), fc.oneof(printable(30), fc.constantFrom('1', '100', 'hour', 'day', 'png', 'svg', 'active', '2030-01-01T00:00:00Z'))), { maxLength: 3 }),
        headers: headers(),
        body: fc.option(
          fc.oneof(
            { weight: 5, arbitrary: jsonBody.map((b) => ({ json: b })) },
            printable(200).map((raw) => ({ raw })),
            // Nesting deeper than any recursive walk of the body could follow.
            fc.constant({ raw: `${'['.repeat(20_000)}${']'.repeat(20_000)}` }),
          ),
          { nil: undefined },
        ),
      })
      .map(({ op, params, query, knownQuery, headers: h, body }): Request => {
        let i = 0;
        const path = op.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]);
        const named = knownQuery.filter(() => op.queryParams.length > 0).map(([n, v]) => `${op.queryParams[n % op.queryParams.length]}=${encodeURIComponent(v)}`);
        const qs = [query, ...named].filter(Boolean).join('&');
        return { method: op.method, url: `${path}${qs ? `?${qs}` : ''}`, headers: h, body: body && 'json' in body ? body.json : undefined, rawBody: body && 'raw' in body ? body.raw : undefined };
      });

  /** A request to the redirect or to a path no route serves, with any method. */
  const otherRequest = () =>
    fc
      .record({
        method: fc.constantFrom<Method>('get', 'head', 'get', 'head', 'post', 'put', 'delete', 'patch', 'options'),
        segments: fc.oneof(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constant([knownCode]), fc.tuple(fc.constantFrom('api', 'api/v1', 'api/v2', 'api/docs'), segment)),
        trailing: fc.constantFrom('', '/', '//'),
        query: fc.oneof(queryString, fc.constant('')),
        headers: headers(),
        body: fc.option(jsonBody, { nil: undefined }),
      })
      .map(({ method, segments, trailing, query, headers: h, body }): Request => ({
        method,
        url: `/${segments.join('/')}${trailing}${query ? `?${query}` : ''}`,
        headers: h,
        body: method === 'get' || method === 'head' ? undefined : body,
      }));

  async function send(r: Request): Promise<Response> {
    let req = api.http()[r.method](r.url);
    for (const [name, value] of Object.entries(r.headers)) req = req.set(name, value);
    if (r.rawBody !== undefined) return req.send(r.rawBody);
    if (r.body !== undefined) return req.send(JSON.stringify(r.body));
    return req;
  }

  /** The property: below 500; a 4xx is problem+json whose `status` member matches (HEAD: no body to check). */
  async function neverServerError(r: Request): Promise<void> {
    const res = await send(r);
    const family = `${Math.floor(res.status / 100)}xx`;
    seen.set(family, (seen.get(family) ?? 0) + 1);
    const verdict = {
      status: res.status < 500,
      problem: res.status < 400 || String(res.headers['content-type']).split(';')[0] === 'application/problem+json',
      statusMember: res.status < 400 || r.method === 'head' || res.body?.status === res.status,
    };
    if (!verdict.status || !verdict.problem || !verdict.statusMember) {
      throw new Error(`${r.method.toUpperCase()} ${r.url} ${JSON.stringify(r.headers)} ${JSON.stringify(r.body ?? r.rawBody)} -> ${res.status} ${res.headers['content-type']} ${res.text?.slice(0, 300)}`);
    }
  }

  it('documented operations: fuzzed path parameters, queries, headers and JSON bodies', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(12);
    await fc.assert(fc.asyncProperty(apiRequest(), neverServerError), { numRuns: 200, seed: SEED, endOnFailure: true });
  }, 60_000);

  it('the redirect and unknown paths, with any method', async () => {
    await fc.assert(fc.asyncProperty(otherRequest(), neverServerError), { numRuns: 100, seed: SEED + 1, endOnFailure: true });
    // The fuzz reached successes and refusals, not only one kind of answer.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining(['2xx', '4xx']));
  }, 60_000);
});

import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { CompiledApp, rssMiB, startCompiledApp } from '../support/compiled-app';
import { FuzzHttpClient, RawRequest, RawResponse, curlOf, problemType, propertyViolation } from '../support/fuzz-http';
import { MUTATION_KINDS, MutationKind, Nesting, jsonDepth, mutationArbitrary, nestedRequest } from '../support/fuzz-mutations';
import { OpenApiDocument, OpenApiOperation, operationsOf } from '../support/openapi-arbitraries';
import { OpenApiRequests, RequestDraft, seedFor, serialize } from '../support/openapi-requests';
import { TEST_ADMIN_KEY, databaseUrl, workerDatabaseName } from '../support/test-env';

/**
 * Property-based fuzzing of the compiled API, a
 * separate process reached over real HTTP, driven by the OpenAPI document it
 * serves at /api/openapi.json: every operation gets
 *
 * - valid requests drawn from its parameter and request-body schemas, path
 *   parameters naming resources made for them, at least 50 answered 2xx;
 * - invalid ones mutated from valid ones: lone surrogates, 20-digit
 *   numbers, year-0000 instants, oversized strings;
 * - JSON bodies nested to the depth cap (HTTP_JSON_MAX_DEPTH, 32), one past
 *   it and 20,000 deep;
 * - random paths, queries, headers and bodies;
 *
 * and the property is: no 5xx, every 4xx an RFC 9457 problem whose `status`
 * member matches, the process alive, its RSS under 300 MiB afterwards.
 * Nothing names an operation: a route added to the document is fuzzed as
 * served. The seed is FUZZ_SEED when set, else random, and is printed:
 * `FUZZ_SEED=<seed> npx jest test/e2e/fuzz.e2e.ts --selectProjects e2e`
 * replays a run (against a fresh database, as every run has).
 */

const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31 - 1);
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, not ${process.env.FUZZ_SEED}`);

/** 2xx answers each operation must give to valid requests. */
const MIN_SUCCESSES = 50;
/** Valid requests sent to one operation at most while waiting for {@link MIN_SUCCESSES}. */
const MAX_VALID_REQUESTS = 160;
/** Mutated requests per operation, spread evenly over the mutation kinds. */
const MUTATIONS_PER_OPERATION = 24;
/** HTTP_JSON_MAX_DEPTH's default: JSON nesting deeper than this is refused while parsing. */
const JSON_MAX_DEPTH = 32;
/** Bound of the API's resident set after the fuzz. */
const MAX_RSS_MIB = 300;
const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
const PROBLEM = 'urn:shortener:problem:';

// Values the document cannot describe: each draw is unique in the run, so a request never collides with an earlier one.
let drawn = 0;
const unique = () => `${SEED.toString(36)}${(drawn += 1).toString(36)}`;
/** http(s) targets on hosts of their own (none is ever on the blocklist the fuzz fills), IDN and percent-encoding included. */
const targetUrl = fc
  .record({
    scheme: fc.constantFrom('https', 'http'),
    host: fc.constantFrom('fuzz.example', 'bücher.example', 'xn--fuzz-target.example', 'EXAMPLE.org'),
    path: fc.webPath(),
    query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    fragment: fc.option(fc.webFragments(), { nil: undefined }),
  })
  .map(
    ({ scheme, host, path, query, fragment }) =>
      `${scheme}://t-${unique()}.${host}${path}${query === undefined ? '' : `?${query}`}${fragment === undefined ? '' : `#${fragment}`}`,
  );
/** Aliases in the alias alphabet (Unicode letters, digits, `-`, `_`), unique. */
const alias = fc.string({ unit: fc.constantFrom(...'abcXYZ019_-éßжク구'), minLength: 1, maxLength: 12 }).map((s) => `${s}${unique()}`);
/** Blocklist hosts, unique, under a name no target uses. */
const blockedHost = fc.constantFrom('', '*.', 'WWW.').map((prefix) => `${prefix}h-${unique()}.fuzz-blocked.example`);
/** RFC 3339 instants within 20 days of now (offsets and fractions varied): inside every range limit the API has. */
const instant = fc
  .record({
    offsetMs: fc.integer({ min: -20 * 86_400_000, max: 20 * 86_400_000 }),
    zone: fc.constantFrom('Z', '+00:00', '+05:30', '-08:00'),
    fraction: fc.boolean(),
  })
  .map(({ offsetMs, zone, fraction }) => {
    const zoneMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
    const local = new Date(Date.now() + offsetMs + zoneMinutes * 60_000).toISOString();
    return `${fraction ? local.slice(0, -1) : local.slice(0, 19)}${zone}`;
  });
/** Values for the string formats of JSON Schema 2020-12 (validation section 7.3) a document may use. */
const FORMATS: Record<string, fc.Arbitrary<string>> = {
  'date-time': instant,
  date: instant.map((s) => s.slice(0, 10)),
  uuid: fc.uuid(),
  uri: targetUrl,
  hostname: fc.domain(),
  email: fc.emailAddress(),
  ipv4: fc.ipV4(),
  ipv6: fc.ipV6(),
};
const BY_NAME = new Map<string, fc.Arbitrary<unknown>>([
  ['url', targetUrl],
  ['alias', alias],
  ['host', blockedHost],
  ['Idempotency-Key', fc.constant(null).map(() => `fz-${unique()}`)],
]);
const byName = (name: string) => BY_NAME.get(name);

/** A violation of the property, once per kind (what was sent, where, and the answer). */
interface Finding {
  what: string;
  answer: string;
  curl: string;
}

describe(`fuzzing the compiled API from its OpenAPI document (seed ${SEED})`, () => {
  let app: CompiledApp;
  let client: FuzzHttpClient;
  let db: Client;
  let doc: OpenApiDocument;
  let operations: OpenApiOperation[];
  let requests: OpenApiRequests;
  let blockedBefore: string[];
  let sent = 0;
  let findings = new Map<string, Finding>();
  const families = new Map<string, number>();
  /** Valid requests each operation took to reach its 2xx answers, for the log. */
  const validSent = new Map<string, number>();
  /** Answers to mutated requests by mutation kind (`status type`: count), for the log. */
  const mutationAnswers = new Map<string, Map<string, number>>();
  /** The API's RSS (MiB) after boot and after each test, for the log. */
  const rssAfter: [string, number][] = [];

  /** Sends one request and checks the property; a violation is kept under `label` plus what went wrong, the first of each kind. */
  async function exchange(label: string, request: RawRequest): Promise<RawResponse | undefined> {
    sent += 1;
    let response: RawResponse;
    try {
      response = await client.send(request);
    } catch (error) {
      const alive = app.child.exitCode === null && app.child.signalCode === null;
      const answer = `no answer: ${(error as Error).message}${alive ? '' : `; the API exited (${app.child.exitCode ?? app.child.signalCode}):\n${app.output().slice(-2000)}`}`;
      if (!findings.has(`${label} no answer`)) findings.set(`${label} no answer`, { what: label, answer, curl: curlOf(request) });
      return undefined;
    }
    const family = `${Math.floor(response.status / 100)}xx`;
    families.set(family, (families.get(family) ?? 0) + 1);
    const violation = propertyViolation(request, response);
    if (violation) {
      // One finding per member whatever its array index: /items/3/tags/0 and /items/1/tags/2 are one kind.
      const key = `${label.replace(/\/\d+(?=\/|\s|$)/g, '/*')} ${violation} ${problemType(response) ?? ''}`;
      if (!findings.has(key)) findings.set(key, { what: `${label}: ${violation}`, answer: response.text.slice(0, 300), curl: curlOf(request) });
    }
    return response;
  }

  /** The violations found since the last call, as lines for a failure message. */
  function takeFindings(): string[] {
    const lines = [...findings.values()].map((f) => `${f.what}\n    answer: ${f.answer}\n    ${f.curl}`);
    findings = new Map();
    return lines;
  }

  beforeAll(async () => {
    // The pods' heap sizes: RSS is checked against the pod's budget.
    app = await startCompiledApp('api', {}, { chartHeap: true });
    rssAfter.push(['boot', rssMiB(app.child.pid!)]);
    client = new FuzzHttpClient(app.url);
    db = new Client({ connectionString: databaseUrl(workerDatabaseName()) });
    await db.connect();
    blockedBefore = (await db.query<{ host: string }>('SELECT host FROM blocked_hosts')).rows.map((r) => r.host);
    const served = await client.send({ method: 'get', path: '/api/openapi.json', headers: {} });
    doc = JSON.parse(served.text) as OpenApiDocument;
    operations = operationsOf(doc);
    requests = new OpenApiRequests(
      operations,
      async (op, request, purpose) => {
        const response = await exchange(`${op.key} (valid${purpose === 'producer' ? ', making a resource' : ''})`, request);
        if (response) requests.observe(op, response);
        return response;
      },
      { headers: { authorization: ADMIN, accept: 'application/json' }, byName, formats: FORMATS },
      SEED,
    );
  });

  afterEach(() => {
    if (app?.child.exitCode === null) rssAfter.push([`${expect.getState().currentTestName?.slice(0, 40)}... (${sent} requests)`, rssMiB(app.child.pid!)]);
  });

  afterAll(async () => {
    // Hosts the fuzz blocked would refuse other files' targets in this worker's database.
    await db?.query('DELETE FROM blocked_hosts WHERE NOT (host = ANY($1))', [blockedBefore]);
    await db?.end();
    client?.close();
    await app?.stop();
  });

  /** Operations in the order that lets each find what it needs: creations first (their answers feed the others), deletions last. */
  const inOrder = () => [...operations].sort((a, b) => rank(a) - rank(b));
  const rank = (op: OpenApiOperation) => (op.method === 'post' ? 0 : op.method === 'delete' ? 2 : 1);

  it('valid requests drawn from each operation’s schemas: at least 50 per operation answered 2xx, no violation', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(12);
    const answers = new Map<string, Map<string, number>>();
    const successes = (key: string) => [...(answers.get(key) ?? [])].filter(([a]) => a.startsWith('2')).reduce((n, [, c]) => n + c, 0);
    for (const op of inOrder()) {
      const drafts = requests.draftStream(op);
      const byAnswer = new Map<string, number>();
      answers.set(op.key, byAnswer);
      for (let i = 0; i < MAX_VALID_REQUESTS && successes(op.key) < MIN_SUCCESSES; i += 1) {
        const valid = await requests.resolve(drafts.next().value as RequestDraft);
        const response = await exchange(`${op.key} (valid)`, serialize(valid));
        if (!response) continue;
        requests.observe(op, response);
        const answer = `${response.status}${response.status >= 400 ? ` ${problemType(response)?.replace(PROBLEM, '')}` : ''}`;
        byAnswer.set(answer, (byAnswer.get(answer) ?? 0) + 1);
        validSent.set(op.key, i + 1);
      }
    }
    expect(takeFindings()).toEqual([]);
    // An operation short of its 2xx answers shows what it got instead.
    const reached = (key: string) =>
      successes(key) >= MIN_SUCCESSES ? MIN_SUCCESSES : [...(answers.get(key) ?? [])].map(([answer, count]) => `${count} x ${answer}`).join(', ');
    expect(Object.fromEntries(operations.map((op) => [op.key, reached(op.key)]))).toEqual(Object.fromEntries(operations.map((op) => [op.key, MIN_SUCCESSES])));
  }, 60_000);

  it('invalid requests mutated from valid ones: lone surrogates, 20-digit numbers, year-0000 instants, oversized strings', async () => {
    const kinds = new Map<MutationKind, number>();
    for (const op of inOrder()) {
      const drafts = requests.draftStream(op, 'mutation ');
      for (let i = 0; i < MUTATIONS_PER_OPERATION; i += 1) {
        const kind = MUTATION_KINDS[i % MUTATION_KINDS.length];
        const valid = await requests.resolve(drafts.next().value as RequestDraft);
        const [mutation] = fc.sample(mutationArbitrary(valid, [kind]), { seed: seedFor(SEED, `mutation ${op.key} ${i}`), numRuns: 1 });
        const response = await exchange(`${op.key} ${kind} at ${mutation.where}`, mutation.request);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        const answer = response ? `${response.status} ${problemType(response)?.replace(PROBLEM, '') ?? ''}`.trim() : 'none';
        const byAnswer = mutationAnswers.get(kind) ?? new Map<string, number>();
        mutationAnswers.set(kind, byAnswer.set(answer, (byAnswer.get(answer) ?? 0) + 1));
      }
    }
    expect(takeFindings()).toEqual([]);
    expect(Object.fromEntries(kinds)).toEqual(
      Object.fromEntries(MUTATION_KINDS.map((k) => [k, (operations.length * MUTATIONS_PER_OPERATION) / MUTATION_KINDS.length])),
    );
  }, 60_000);

  it(`JSON bodies nested ${JSON_MAX_DEPTH} deep pass the parser; ${JSON_MAX_DEPTH + 1} and 20,000 deep are refused as json-too-deep`, async () => {
    const withBody = operations.filter((op) => op.requestBody);
    expect(withBody.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const op of withBody) {
      const drafts = requests.draftStream(op, 'nesting ');
      const cases: [number, Nesting][] = [
        [JSON_MAX_DEPTH, 'array'],
        [JSON_MAX_DEPTH, 'object'],
        [JSON_MAX_DEPTH + 1, 'array'],
        [JSON_MAX_DEPTH + 1, 'object'],
        [20_000, 'array'],
      ];
      for (const [i, [depth, nesting]] of cases.entries()) {
        const valid = await requests.resolve(drafts.next().value as RequestDraft);
        const nested = nestedRequest(valid, depth, nesting, seedFor(SEED, `${op.key} ${i}`) >>> 0);
        expect(jsonDepth(nested.request.body ?? '')).toBe(depth);
        const response = await exchange(`${op.key} nested ${depth} deep (${nesting}s) at ${nested.where}`, nested.request);
        if (!response) continue;
        const type = problemType(response);
        const outcome = `${op.key} nested ${depth} deep (${nesting}s) at ${nested.where}: ${response.status} ${type ?? ''}`;
        if (depth <= JSON_MAX_DEPTH) {
          // At the cap the parser accepts the text; the schema (no member of the API nests this deep) refuses it.
          if (!(response.status < 300 || (response.status === 400 && type === `${PROBLEM}validation-failed`)))
            wrong.push(`${outcome}; expected 2xx or 400 validation-failed`);
        } else if (response.status !== 400 || type !== `${PROBLEM}json-too-deep`) {
          wrong.push(`${outcome}; expected 400 ${PROBLEM}json-too-deep\n    ${curlOf(nested.request)}`);
        }
      }
    }
    expect(takeFindings()).toEqual([]);
    expect(wrong).toEqual([]);
  }, 30_000);

  describe('random requests', () => {
    let keys: { member: string; readOnly: string };
    let knownCode: string;

    beforeAll(async () => {
      const mint = async (role: string, accountId?: string) => {
        const res = await client.send({
          method: 'post',
          path: '/api/v1/api-keys',
          headers: { authorization: ADMIN, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `fuzz ${role}`, role, ...(accountId ? { accountId } : {}) }),
        });
        if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${res.text}`);
        return JSON.parse(res.text) as { key: string; accountId: string };
      };
      const member = await mint('member');
      keys = { member: `Bearer ${member.key}`, readOnly: `Bearer ${(await mint('read_only', member.accountId)).key}` };
      const created = await client.send({
        method: 'post',
        path: '/api/v1/links',
        headers: { authorization: keys.member, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/fuzz', alias: `fuzz-${unique()}` }),
      });
      if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.text}`);
      knownCode = (JSON.parse(created.text) as { code: string }).code;
    });

    type Method = 'get' | 'head' | 'post' | 'patch' | 'put' | 'delete' | 'options';
    /** Header names a client may not forge without breaking HTTP framing or the client itself. */
    const FRAMING_HEADERS = new Set([
      'content-length',
      'transfer-encoding',
      'connection',
      'host',
      'expect',
      'upgrade',
      'te',
      'trailer',
      'keep-alive',
      'proxy-connection',
      'http2-settings',
    ]);
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
      fc.constantFrom('', '.', '..', '%', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', 'api', 'docs', '~', "'", '%C0%AF', '%ED%A0%80', 'a'.repeat(1100)),
      fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,40}$/),
    );
    const queryString = fc
      .array(
        fc.tuple(
          fc.oneof(token, printable(10), anyText(6)),
          fc.oneof(printable(30), anyText(20), fc.constantFrom('', '-1', '0', '101', '1e309', 'null', '[]', '12345678901234567890')),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&'));
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
          expiresAt: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            text(30),
            fc.integer(),
          ),
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
    const authorization = () =>
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(ADMIN) },
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
            'content-type': fc.oneof(
              fc.constantFrom(
                'application/json',
                'application/merge-patch+json',
                'application/json; charset=utf-8',
                'text/plain',
                'application/x-www-form-urlencoded',
                '',
              ),
              printable(40),
            ),
            'idempotency-key': fc.oneof(
              printable(40),
              fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x')),
            ),
            'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), printable(40)),
            'x-request-id': printable(140),
            accept: fc.oneof(fc.constantFrom('application/json', 'application/problem+json', '*/*', 'text/html'), printable(30)),
            'user-agent': printable(200),
            referer: printable(100),
            extra: fc.tuple(
              token.filter((n) => !FRAMING_HEADERS.has(n.toLowerCase())),
              printable(100),
            ),
          },
          { requiredKeys: [] },
        )
        .map(({ extra, authorization: auth, ...rest }) => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== '') out[k] = v;
          if (auth !== undefined) out.authorization = auth;
          if (extra && !(extra[0].toLowerCase() in out)) out[extra[0].toLowerCase()] = extra[1];
          return out;
        });
    const withBody = (body: { json: unknown } | { raw: string } | undefined): string | undefined =>
      body === undefined ? undefined : 'json' in body ? JSON.stringify(body.json) : body.raw;

    /** A request to one documented operation, with fuzzed parameters, headers and body. */
    const apiRequest = () =>
      fc
        .record({
          op: fc.constantFrom(...operations),
          params: fc.array(fc.oneof(segment, fc.constant(knownCode), fc.uuid()), { minLength: 4, maxLength: 4 }),
          query: fc.oneof(queryString, fc.constant('')),
          knownQuery: fc.array(
            fc.tuple(fc.nat(9), fc.oneof(printable(30), fc.constantFrom('1', '100', 'hour', 'day', 'png', 'svg', 'active', '2030-01-01T00:00:00Z'))),
            { maxLength: 3 },
          ),
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
        .map(({ op, params, query, knownQuery, headers: h, body }): RawRequest => {
          let i = 0;
          const path = op.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]);
          const names = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
          const named = knownQuery.filter(() => names.length > 0).map(([n, v]) => `${names[n % names.length]}=${encodeURIComponent(v)}`);
          const qs = [query, ...named].filter(Boolean).join('&');
          return { method: op.method, path: `${path}${qs ? `?${qs}` : ''}`, headers: h, body: op.method === 'head' ? undefined : withBody(body) };
        });

    /** A request to the redirect or to a path no route serves, with any method. */
    const otherRequest = () =>
      fc
        .record({
          method: fc.constantFrom<Method>('get', 'head', 'get', 'head', 'post', 'put', 'delete', 'patch', 'options'),
          segments: fc.oneof(
            fc.array(segment, { minLength: 1, maxLength: 5 }),
            fc.constant([knownCode]),
            fc.tuple(fc.constantFrom('api', 'api/v1', 'api/v2', 'api/docs'), segment),
          ),
          trailing: fc.constantFrom('', '/', '//'),
          query: fc.oneof(queryString, fc.constant('')),
          headers: headers(),
          body: fc.option(jsonBody, { nil: undefined }),
        })
        .map(({ method, segments, trailing, query, headers: h, body }): RawRequest => ({
          method,
          path: `/${segments.join('/')}${trailing}${query ? `?${query}` : ''}`,
          headers: h,
          body: method === 'get' || method === 'head' || body === undefined ? undefined : JSON.stringify(body),
        }));

    it('documented operations: fuzzed path parameters, queries, headers and JSON bodies', async () => {
      await fc.assert(
        fc.asyncProperty(apiRequest(), async (r) => {
          await exchange(`random ${r.method.toUpperCase()}`, r);
        }),
        { numRuns: 200, seed: seedFor(SEED, 'random operations') },
      );
      expect(takeFindings()).toEqual([]);
    }, 30_000);

    it('the redirect and unknown paths, with any method', async () => {
      await fc.assert(
        fc.asyncProperty(otherRequest(), async (r) => {
          await exchange(`random ${r.method.toUpperCase()} (other path)`, r);
        }),
        { numRuns: 100, seed: seedFor(SEED, 'random paths') },
      );
      expect(takeFindings()).toEqual([]);
      // The fuzz reached successes and refusals, not only one kind of answer.
      expect([...families.keys()].sort()).toEqual(expect.arrayContaining(['2xx', '4xx']));
    }, 30_000);
  });

  it(`the API process is alive afterwards, its resident set under ${MAX_RSS_MIB} MiB`, async () => {
    expect({ exitCode: app.child.exitCode, signal: app.child.signalCode }).toEqual({ exitCode: null, signal: null });
    expect((await fetch(`${app.managementUrl}/health/live`)).status).toBe(200);
    // Afterwards, once idle: QR render threads end 1 s after their last render and give their memory back
    // (libs/links/src/application/qr-code.ts), and V8's memory reducer shrinks an idle heap within seconds. Read
    // while a loaded machine still lags behind, the figure was up to 90 MiB higher; a leak stays above the bound.
    let rss = rssMiB(app.child.pid!);
    for (const settled = Date.now() + 15_000; rss >= MAX_RSS_MIB && Date.now() < settled; rss = rssMiB(app.child.pid!)) {
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(
      [
        `fuzz seed ${SEED}: ${sent} requests, answers ${JSON.stringify(Object.fromEntries(families))}, API VmRSS ${rss.toFixed(1)} MiB`,
        'VmRSS after:',
        ...rssAfter.map(([what, mib]) => `  ${mib.toFixed(1)} MiB  ${what}`),
        `valid requests sent for ${MIN_SUCCESSES} 2xx answers: ${[...validSent].map(([key, n]) => `${key} ${n}`).join(', ')}`,
        'answers to mutations:',
        ...[...mutationAnswers].map(([kind, byAnswer]) => `  ${kind}: ${[...byAnswer].map(([a, n]) => `${n} x ${a}`).join(', ')}`),
      ].join('\n'),
    );
    expect(rss).toBeLessThan(MAX_RSS_MIB);
  });
});

// The seed goes out first, so a run that fails or hangs can be replayed.
console.log(`fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED} npx jest test/e2e/fuzz.e2e.ts --selectProjects e2e`);

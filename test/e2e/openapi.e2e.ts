import Ajv2020 from 'ajv/dist/2020';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { zodDtos } from '../../apps/api/src/openapi';
import { updateLinkSchema } from '../../libs/links/src/application/link.schemas';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';

/**
 * The OpenAPI 3.1 document the API serves (docs/design.md section 3), linted by
 * Redocly with the repository's `redocly.yaml`, and checked for what a 3.1
 * client needs: JSON Schema 2020-12 (no 3.0 `nullable`), explicit
 * operationIds, and problem+json errors from one shared component.
 */
const ROOT = path.resolve(__dirname, '../..');
const REDOCLY = path.join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Json = Record<string, any>;

interface RedoclyReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

/** Runs `redocly lint --format=json` on a file; exit status 1 only means problems were found. */
async function redoclyLint(file: string): Promise<RedoclyReport> {
  const args = [REDOCLY, 'lint', file, '--config', path.join(ROOT, 'redocly.yaml'), '--format=json'];
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (out.trim().startsWith('{')) resolve(out);
      else reject(new Error(`redocly lint failed (${error?.message ?? 'no output'}): ${err}`));
    });
  });
  return JSON.parse(stdout) as RedoclyReport;
}

/** JSON Pointers of every member named `key`, anywhere in the document. */
function pointersOf(value: unknown, key: string, at = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k === key ? [`${at}/${k}`] : []),
    ...pointersOf(v, key, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
  ]);
}

/** Every operation as `METHOD path` with its object. */
function operations(doc: Json): [string, Json][] {
  return Object.entries(doc.paths as Json).flatMap(([p, item]) =>
    METHODS.filter((m) => item[m]).map((m) => [`${m.toUpperCase()} ${p}`, item[m]] as [string, Json]),
  );
}

/** Every schema object in operations (parameters, bodies, responses) and components. */
function allSchemas(doc: Json): [string, Json][] {
  const found: [string, Json][] = Object.entries(doc.components?.schemas ?? {}).map(([n, s]) => [`#/components/schemas/${n}`, s as Json]);
  for (const [name, op] of operations(doc)) {
    for (const p of op.parameters ?? []) if (p.schema) found.push([`${name} parameter ${p.name}`, p.schema]);
    for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) if (media.schema) found.push([`${name} body ${type}`, media.schema]);
    for (const [status, res] of Object.entries((op.responses ?? {}) as Json)) {
      for (const [type, media] of Object.entries((res.content ?? {}) as Json)) if (media.schema) found.push([`${name} ${status} ${type}`, media.schema]);
    }
  }
  return found;
}

/**
 * Ajv in strict JSON Schema 2020-12 mode: unknown keywords (e.g. `nullable`)
 * fail, only the OpenAPI 3.1 base vocabulary is added. Component refs are
 * registered under their document pointer.
 */
function schemaValidator(doc: Json): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, validateFormats: false, allErrors: true });
  ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    ajv.addSchema(rewriteRefs(schema) as Json, `urn:openapi:${name}`);
  }
  return ajv;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', 'urn:openapi:') : rewriteRefs(v)]),
  );
}

/** What zod itself emits for a request body (JSON Schema 2020-12), without the `$schema` marker. */
function zodInputSchema(schema: z.ZodType): Json {
  const { $schema: _marker, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Json;
  return rest;
}

describe('OpenAPI document', () => {
  let api: TestApi;
  let doc: Json;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    api = await startTestApi();
    const res = await api.http().get('/api/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as Json;
    dir = await mkdtemp(path.join(os.tmpdir(), 'openapi-'));
    file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc, null, 2));
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is served as JSON, with the docs UI as HTML', async () => {
    const json = await api.http().get('/api/openapi.json');
    expect(json.headers['content-type']).toMatch(/^application\/json\b/);
    const docs = await api.http().get('/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html\b/);
    expect(docs.text).toContain('<title>Swagger UI</title>');
  });

  it('is OpenAPI 3.1.0 without the 3.0 nullable keyword anywhere', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(pointersOf(doc, 'nullable')).toEqual([]);
  });

  it('passes redocly lint with the repository ruleset', async () => {
    const report = await redoclyLint(file);
    expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  }, 60_000);

  it('has only JSON Schema 2020-12 schemas, with the OpenAPI 3.1 vocabulary', () => {
    const ajv = schemaValidator(doc);
    const invalid = allSchemas(doc).flatMap(([where, schema]) => {
      try {
        ajv.compile(rewriteRefs(schema) as Json);
        return [];
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    expect(invalid).toEqual([]);
  });

  it('describes every zod DTO exactly as zod does, nullable members included', () => {
    const dtos = zodDtos(api.app).filter((dto) => doc.components.schemas[dto.name]);
    expect(dtos.map((dto) => dto.name)).toEqual(expect.arrayContaining(['CreateLinkDto', 'UpdateLinkDto', 'MintApiKeyDto']));
    for (const dto of dtos) expect({ [dto.name]: doc.components.schemas[dto.name] }).toEqual({ [dto.name]: zodInputSchema(dto.schema) });
    expect(doc.components.schemas.UpdateLinkDto).toEqual(zodInputSchema(updateLinkSchema));
    // A bare nullable primitive stays a type array (a nestjs-zod version turned it into an array of booleans).
    expect(doc.components.schemas.UpdateLinkDto.properties.forwardQuery).toEqual({ type: ['boolean', 'null'] });
  });

  it('names every operation with an explicit camelCase operationId', () => {
    const ids = operations(doc).map(([name, op]) => `${name} ${op.operationId}`);
    expect(ids.filter((id) => !/ [a-z][a-zA-Z]+$/.test(id))).toEqual([]);
    expect(ids).toEqual(
      expect.arrayContaining(['POST /api/v1/links createLink', 'PATCH /api/v1/links/{code} updateLink', 'DELETE /api/v1/api-keys/{id} revokeApiKey']),
    );
  });

  it('describes every response', () => {
    const undocumented = operations(doc).flatMap(([name, op]) =>
      Object.entries(op.responses as Json)
        .filter(([, res]) => !res.$ref && !res.description)
        .map(([status]) => `${name} ${status}`),
    );
    expect(undocumented).toEqual([]);
  });

  it('answers errors with the shared problem+json responses, 401 and 503 wherever a key is required', () => {
    const notShared = operations(doc).flatMap(([name, op]) =>
      Object.entries(op.responses as Json)
        .filter(([status, res]) => Number(status) >= 400 && !String(res.$ref).startsWith('#/components/responses/'))
        .map(([status]) => `${name} ${status}`),
    );
    expect(notShared).toEqual([]);
    expect(
      operations(doc)
        .filter(([, op]) => op.responses['401']?.$ref !== '#/components/responses/Unauthorized')
        .map(([n]) => n),
    ).toEqual([]);
    expect(
      operations(doc)
        .filter(([, op]) => op.responses['503']?.$ref !== '#/components/responses/ServiceUnavailable')
        .map(([n]) => n),
    ).toEqual([]);
    expect(doc.components.responses.ServiceUnavailable.description).toBe(
      'Service Unavailable. Problem types: `urn:shortener:problem:overloaded`, `urn:shortener:problem:deadline-exceeded`, `urn:shortener:problem:dependency-unavailable`.',
    );
    for (const response of Object.values(doc.components.responses as Json)) {
      expect(response.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
    }
    expect(doc.components.responses.NotFound.description).toBe(
      'Not Found. Problem types: `urn:shortener:problem:link-not-found`, `urn:shortener:problem:api-key-not-found`, `urn:shortener:problem:not-found`.',
    );
    expect(doc.paths['/api/v1/links/{code}'].get.responses['404']).toEqual({
      $ref: '#/components/responses/NotFound',
      description: 'No such link on this domain, or it belongs to another account',
    });
  });

  it('declares the API key as an http bearer scheme, the license and a relative server', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'sk_<prefix>_<secret>', description: 'An API key' },
    });
    expect(doc.info.license).toEqual({ name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' });
    expect(doc.servers).toEqual([{ url: '/', description: 'This deployment (the host serving this document)' }]);
    expect(doc.tags.map((t: Json) => t.name).sort()).toEqual([...new Set(operations(doc).flatMap(([, op]) => op.tags as string[]))].sort());
  });

  it('describes the link responses, and the links the API really sends satisfy them', async () => {
    const link = '#/components/schemas/LinkDto';
    const ok = (p: string, m: string, status: string) => doc.paths[p][m].responses[status].content['application/json'].schema;
    expect([ok('/api/v1/links', 'post', '201'), ok('/api/v1/links/{code}', 'get', '200'), ok('/api/v1/links/{code}', 'patch', '200')]).toEqual([
      { $ref: link },
      { $ref: link },
      { $ref: link },
    ]);
    expect(ok('/api/v1/links', 'get', '200')).toEqual({ $ref: '#/components/schemas/LinkPageDto' });
    const ajv = schemaValidator(doc);
    const validLink = ajv.getSchema('urn:openapi:LinkDto')!;
    const validPage = ajv.getSchema('urn:openapi:LinkPageDto')!;
    const alias = uniqueAlias('oas');
    const created = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .send({ url: 'https://example.com/oas', alias, tags: ['t'], maxClicks: 5 });
    const read = await api.http().get(`/api/v1/links/${alias}`).set('authorization', api.adminAuth);
    const patched = await api
      .http()
      .patch(`/api/v1/links/${alias}`)
      .set('authorization', api.adminAuth)
      .send({ title: 'T', expiresAt: '2099-01-01T00:00:00Z' });
    const page = await api.http().get('/api/v1/links?limit=2').set('authorization', api.adminAuth);
    expect([created.status, read.status, patched.status, page.status]).toEqual([201, 200, 200, 200]);
    for (const res of [created, read, patched]) expect({ valid: validLink(res.body), errors: validLink.errors ?? null }).toEqual({ valid: true, errors: null });
    expect({ valid: validPage(page.body), errors: validPage.errors ?? null }).toEqual({ valid: true, errors: null });
    // Every member the API sends is described (nothing undocumented slips through).
    expect(Object.keys(read.body).sort()).toEqual(Object.keys(doc.components.schemas.LinkDto.properties).sort());
  });

  it('describes the API key, blocklist and audit responses, and what the API really sends satisfies them', async () => {
    const ok = (p: string, m: string, status: string) => doc.paths[p][m].responses[status].content['application/json'].schema;
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect([
      ok('/api/v1/api-keys', 'post', '201'),
      ok('/api/v1/api-keys', 'get', '200'),
      ok('/api/v1/api-keys/{id}', 'delete', '200'),
      ok('/api/v1/blocklist', 'get', '200'),
      ok('/api/v1/blocklist', 'post', '201'),
      ok('/api/v1/blocklist', 'post', '200'),
      ok('/api/v1/audit', 'get', '200'),
    ]).toEqual([
      ref('MintedApiKeyDto'),
      ref('ApiKeyListDto'),
      ref('ApiKeyDto'),
      ref('BlocklistDto'),
      ref('BlocklistEntryDto'),
      ref('BlocklistEntryDto'),
      ref('LinkAuditPageDto'),
    ]);
    const ajv = schemaValidator(doc);
    const admin = { authorization: api.adminAuth };
    const alias = uniqueAlias('oas-audit');
    const host = `${uniqueAlias('oas')}.example`;
    const minted = await api.http().post('/api/v1/api-keys').set(admin).send({ name: 'oas', role: 'read_only', rateLimitPerMinute: 60 });
    const keys = await api.http().get('/api/v1/api-keys').set(admin);
    const revoked = await api.http().delete(`/api/v1/api-keys/${minted.body.id}`).set(admin);
    const blocked = await api.http().post('/api/v1/blocklist').set(admin).send({ host, reason: 'openapi test' });
    const again = await api.http().post('/api/v1/blocklist').set(admin).send({ host });
    const blocklist = await api.http().get('/api/v1/blocklist').set(admin);
    await api.http().delete(`/api/v1/blocklist/${host}`).set(admin);
    await api.http().post('/api/v1/links').set(admin).send({ url: 'https://example.com/oas-audit', alias });
    await api.http().patch(`/api/v1/links/${alias}`).set(admin).send({ title: 'audited' });
    const audit = await api.http().get(`/api/v1/audit?link=${alias}`).set(admin);
    const checks: [string, { status: number; body: unknown }, number][] = [
      ['MintedApiKeyDto', minted, 201],
      ['ApiKeyListDto', keys, 200],
      ['ApiKeyDto', revoked, 200],
      ['BlocklistEntryDto', blocked, 201],
      ['BlocklistEntryDto', again, 200],
      ['BlocklistDto', blocklist, 200],
      ['LinkAuditPageDto', audit, 200],
    ];
    for (const [name, res, status] of checks) {
      const validate = ajv.getSchema(`urn:openapi:${name}`)!;
      expect({ name, status: res.status, valid: validate(res.body), errors: validate.errors ?? null }).toEqual({ name, status, valid: true, errors: null });
    }
    // The audit page holds the update (with its before state) and the create (before: null), and no member is undescribed.
    expect(audit.body.items.map((r: Json) => [r.action, r.before === null])).toEqual([
      ['update', false],
      ['create', true],
    ]);
    expect(Object.keys(minted.body).sort()).toEqual(Object.keys(doc.components.schemas.MintedApiKeyDto.properties).sort());
    expect(Object.keys(audit.body.items[0]).sort()).toEqual(Object.keys(doc.components.schemas.LinkAuditPageDto.properties.items.items.properties).sort());
  });

  it('describes the bulk create results, and a real mix of created and refused items satisfies it', async () => {
    const schema = doc.paths['/api/v1/links/bulk'].post.responses['200'].content['application/json'].schema;
    expect(schema.properties.results.items.oneOf.map((o: Json) => Object.values<Json>(o.properties).map((p) => p.$ref ?? p.type))).toEqual([
      ['integer', '#/components/schemas/LinkDto'],
      ['integer', '#/components/schemas/Problem'],
    ]);
    const alias = uniqueAlias('oas-bulk');
    const res = await api
      .http()
      .post('/api/v1/links/bulk')
      .set('authorization', api.adminAuth)
      .send({
        items: [{ url: 'https://example.com/oas-bulk', alias }, { url: 'javascript:alert(1)' }, { url: 'https://example.com/oas-bulk-2', alias }],
      });
    expect([res.status, res.body.results.map((r: Json) => r.status)]).toEqual([200, [201, 400, 409]]);
    const validate = schemaValidator(doc).compile(rewriteRefs(schema) as Json);
    expect({ valid: validate(res.body), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
  });

  it('has a Problem schema that the problems the API really sends satisfy', async () => {
    const validate = schemaValidator(doc).getSchema('urn:openapi:Problem')!;
    const notFound = await api.http().get('/api/v1/links/no-such-link-openapi').set('authorization', api.adminAuth);
    const invalid = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).send({ url: 42 });
    const unauthenticated = await api.http().get('/api/v1/links');
    for (const res of [notFound, invalid, unauthenticated]) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
      expect({ status: res.status, valid: validate(res.body), errors: validate.errors ?? null }).toEqual({ status: res.status, valid: true, errors: null });
    }
    expect([notFound.status, invalid.status, unauthenticated.status]).toEqual([404, 400, 401]);
    expect(invalid.body.errors).toEqual([{ pointer: '/url', detail: expect.any(String) }]);
  });
});

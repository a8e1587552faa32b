import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { ModulesContainer } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { PROBLEM_TYPES, ProblemCode, problemTypeUri } from '@shortener/common';
import { PROBLEM_CONTENT_TYPE, PROBLEM_SCHEMA_REF, sendProblem } from '@shortener/http';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { bodyLimitOf, DownloadSlots, StaticBody, staticBody } from '@shortener/security';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify as stringifyYaml } from 'yaml';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { z } from 'zod';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type Responses = Operation['responses'];

/** Operation tags and what they group; every tag a controller uses must be declared here. */
const API_TAGS: Record<string, string> = {
  links: 'Create, list, read, change and delete short links',
  'api-keys': 'Mint, list and revoke API keys (admin role only)',
  blocklist: 'Hosts whose links are refused at create and change and answer 410 (admin role only)',
  audit: 'The audit trail of link changes: who, what, when, before and after (admin role only)',
};

/**
 * The OpenAPI 3.1 document, generated from the controllers and their zod
 * schemas (JSON Schema 2020-12, so `null` is a type, never the 3.0
 * `nullable`). Error responses are the shared problem+json components.
 */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Shortener API')
    .setDescription(
      'Short links and their analytics over a versioned JSON API. Every error is an RFC 9457 problem ' +
        '(`application/problem+json`) whose `type` is a stable `urn:shortener:problem:<code>`.',
    )
    .setVersion('1')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    // Relative: the document is served by the API it describes, on whatever public host that is.
    .addServer('/', 'This deployment (the host serving this document)')
    // Not a JWT: an opaque API key minted by POST /api/v1/api-keys.
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'sk_<prefix>_<secret>', description: 'An API key' });
  for (const [name, description] of Object.entries(API_TAGS)) builder.addTag(name, description);
  const document = cleanupOpenApiDoc(SwaggerModule.createDocument(app, builder.build()), { version: '3.1' });
  // DocumentBuilder always adds an empty contact; there is none to publish.
  if (document.info.contact && Object.keys(document.info.contact).length === 0) delete document.info.contact;
  restoreZodTypeArrays(document, zodDtos(app));
  useProblemResponses(document);
  describeBodyLimits(document, app.get<AppConfig>(APP_CONFIG), bulkBodyOperations(app));
  return document;
}

/** The docs UI's files served from swagger-ui-dist, and their media types. */
const DOCS_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/**
 * The docs page: no inline script (the CSP allows none), the UI's
 * configuration is `swagger-ui-init.js`. Its links are relative to where it
 * is served from (`/api/docs`, or `/api/docs/`, where `base` is `./`).
 */
const docsPage = (base: string) => `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Swagger UI</title>
  <link rel="stylesheet" type="text/css" href="${base}swagger-ui.css">
  <link rel="icon" type="image/png" href="${base}favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="${base}favicon-16x16.png" sizes="16x16">
  <style>html { box-sizing: border-box; overflow-y: scroll; } *, *:before, *:after { box-sizing: inherit; } body { margin: 0; background: #fafafa; } .swagger-ui .topbar .download-url-wrapper { display: none; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}swagger-ui-bundle.js"></script>
<script src="${base}swagger-ui-standalone-preset.js"></script>
<script src="${base}swagger-ui-init.js"></script>
</body>
</html>
`;

/** Relative to `/api/docs/`: the UI loads the document this API serves. */
const DOCS_INIT = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL('../openapi.json', window.location.href.replace(/\\/?$/, '/')).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Serves the document at `/api/openapi.json` (and `/api/openapi.yaml`) and
 * the docs UI (Swagger UI, from swagger-ui-dist) at `/api/docs`. Every body
 * is built once and held in memory, and sent through {@link DownloadSlots}:
 * one Buffer shared by every client, at most `HTTP_MAX_DOWNLOADS` in flight
 * per process until their clients have read them, each reset after
 * `HTTP_SEND_TIMEOUT_MS`. Only the files the page loads are served (not the
 * package's source maps or other bundles). The document is built at the
 * first request, once every controller is registered.
 */
export function serveOpenApi(app: NestFastifyApplication): void {
  const config = app.get<AppConfig>(APP_CONFIG);
  const slots = new DownloadSlots(config.http.maxDownloads, config.http.sendTimeoutMs);
  const fastify = app.getHttpAdapter().getInstance();
  const assetsDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const bodies = new Map<string, StaticBody>();
  for (const [file, type] of Object.entries(DOCS_ASSETS)) bodies.set(`/api/docs/${file}`, staticBody(readFileSync(path.join(assetsDir, file)), type));
  bodies.set('/api/docs/swagger-ui-init.js', staticBody(Buffer.from(DOCS_INIT), 'application/javascript; charset=utf-8'));
  let documents: Map<string, StaticBody> | undefined;
  const documentBody = (url: string): StaticBody => {
    if (!documents) {
      const document = buildOpenApiDocument(app);
      documents = new Map([
        ['/api/openapi.json', staticBody(Buffer.from(JSON.stringify(document)), 'application/json; charset=utf-8')],
        ['/api/openapi.yaml', staticBody(Buffer.from(stringifyYaml(document, { aliasDuplicateObjects: false })), 'text/yaml; charset=utf-8')],
      ]);
    }
    return documents.get(url)!;
  };
  const pages = {
    plain: staticBody(Buffer.from(docsPage('./docs/')), 'text/html; charset=utf-8'),
    slash: staticBody(Buffer.from(docsPage('./')), 'text/html; charset=utf-8'),
  };
  const serve = (url: string, body: (request: FastifyRequest) => StaticBody) =>
    fastify.get(url, (request: FastifyRequest, reply: FastifyReply) => {
      try {
        return slots.send(request, reply, body(request));
      } catch (error) {
        sendProblem(request, reply, error);
        return reply;
      }
    });
  for (const url of ['/api/openapi.json', '/api/openapi.yaml']) serve(url, () => documentBody(url));
  for (const [url, body] of bodies) serve(url, () => body);
  // The router ignores a trailing slash, so /api/docs/ lands here too.
  serve('/api/docs', (request) => (request.url.split('?')[0].endsWith('/') ? pages.slash : pages.plain));
}

/** A nestjs-zod DTO class: its name is the component name, its schema the source of truth. */
export interface ZodDto {
  name: string;
  schema: z.ZodType;
}

/**
 * The nestjs-zod DTO classes of the controllers: parameter types (bodies,
 * queries) and `@ApiResponse({ type })` types. Exported for the document test,
 * which compares each component with zod's own JSON Schema.
 */
export function zodDtos(app: NestFastifyApplication): ZodDto[] {
  const found = new Set<ZodDto>();
  const add = (type: unknown) => {
    if (typeof type === 'function' && (type as { isZodDto?: boolean }).isZodDto) found.add(type as unknown as ZodDto);
  };
  for (const module of app.get(ModulesContainer).values()) {
    for (const controller of module.controllers.values()) {
      const prototype = (controller.metatype as { prototype?: Record<string, unknown> } | null)?.prototype;
      if (!prototype) continue;
      for (const method of Object.getOwnPropertyNames(prototype)) {
        for (const type of (Reflect.getMetadata('design:paramtypes', prototype, method) ?? []) as unknown[]) add(type);
        const handler = prototype[method];
        // Where @nestjs/swagger keeps @ApiResponse options (DECORATORS.API_RESPONSE).
        const responses = (typeof handler === 'function' ? Reflect.getMetadata('swagger/apiResponse', handler) : undefined) as
          Record<string, { type?: unknown }> | undefined;
        for (const response of Object.values(responses ?? {})) add(response.type);
      }
    }
  }
  return [...found];
}

/** Where Nest keeps `@RouteConfig` (FASTIFY_ROUTE_CONFIG_METADATA) and `@ApiOperation` (DECORATORS.API_OPERATION). */
const ROUTE_CONFIG_METADATA = '__fastify_route_config__';
const API_OPERATION_METADATA = 'swagger/apiOperation';

/** The operationIds of the routes marked with `BULK_BODY_ROUTE_CONFIG` (their body limit is the bulk one). */
function bulkBodyOperations(app: NestFastifyApplication): Set<string> {
  const ids = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const controller of module.controllers.values()) {
      const prototype = (controller.metatype as { prototype?: Record<string, unknown> } | null)?.prototype;
      if (!prototype) continue;
      for (const method of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[method];
        if (typeof handler !== 'function') continue;
        const routeConfig = Reflect.getMetadata(ROUTE_CONFIG_METADATA, handler) as { bulkBody?: boolean } | undefined;
        const operation = Reflect.getMetadata(API_OPERATION_METADATA, handler) as { operationId?: string } | undefined;
        if (routeConfig?.bulkBody && operation?.operationId) ids.add(operation.operationId);
      }
    }
  }
  return ids;
}

/**
 * States each operation's request limits in its description and as the
 * extensions `x-body-limit-bytes` and `x-json-max-depth`: the body limit in
 * bytes and its setting (`HTTP_BODY_LIMIT_BYTES`, or
 * `HTTP_BULK_BODY_LIMIT_BYTES` for the bulk create), answered 413
 * `payload-too-large`, and the JSON nesting cap (`HTTP_JSON_MAX_DEPTH`),
 * answered 400 `json-too-deep`.
 */
function describeBodyLimits(document: OpenAPIObject, config: AppConfig, bulkOperations: Set<string>): void {
  const depth = config.http.jsonMaxDepth;
  for (const item of Object.values(document.paths)) {
    for (const method of ['put', 'post', 'patch', 'delete'] as const) {
      const operation = item[method] as (Operation & Record<string, unknown>) | undefined;
      if (!operation?.requestBody) continue;
      const bulk = bulkOperations.has(operation.operationId ?? '');
      const limit = bodyLimitOf(config, bulk);
      const pace = bulk
        ? ` The body is read at most ${config.http.bulkBodyBytesPerSecond} bytes per second per server process, one second's worth ahead (\`HTTP_BULK_BODY_BYTES_PER_SECOND\`), ` +
          `and ${config.http.bulkMaxInFlight} bulk create at a time (\`HTTP_BULK_MAX_IN_FLIGHT\`; another: 503 \`${problemTypeUri('overloaded')}\` with \`Retry-After\`).`
        : '';
      const text =
        `The request body may be at most ${limit.bytes} bytes (\`${limit.setting}\`; larger: 413 \`${problemTypeUri('payload-too-large')}\`) ` +
        `and nest arrays and objects at most ${depth} levels deep (\`HTTP_JSON_MAX_DEPTH\`; deeper: 400 \`${problemTypeUri('json-too-deep')}\`).${pace}`;
      operation.description = operation.description ? `${operation.description}\n\n${text}` : text;
      operation['x-body-limit-bytes'] = limit.bytes;
      operation['x-json-max-depth'] = depth;
    }
  }
}

/**
 * zod >= 4.5 writes a bare nullable primitive as `type: ["boolean", "null"]`,
 * which @nestjs/swagger reads as "an array of boolean" before nestjs-zod's
 * cleanup runs (nestjs-zod issue #473, fix pending in #477). Such a member is
 * put back as zod wrote it: the type array is valid JSON Schema 2020-12, so
 * valid OpenAPI 3.1. Remove once nestjs-zod normalises it.
 */
function restoreZodTypeArrays(document: OpenAPIObject, dtos: ZodDto[]): void {
  for (const dto of dtos) {
    const component = document.components?.schemas?.[dto.name] as { properties?: Record<string, unknown> } | undefined;
    if (!component?.properties) continue;
    const generated = z.toJSONSchema(dto.schema, { io: 'input' }) as { properties?: Record<string, { type?: unknown }> };
    for (const [name, property] of Object.entries(generated.properties ?? {})) {
      if (Array.isArray(property.type) && name in component.properties) component.properties[name] = property;
    }
  }
}

/**
 * Makes every error response the shared problem+json component of its
 * status (`#/components/responses/<Reason>`), keeping the operation's own
 * description, and adds the errors every operation of a kind can answer:
 * 401 and 429 where a key is required (the API key guard is global and
 * applies the rate limits), 503 there too (the request deadline, load
 * shedding, an unavailable database; with `Retry-After`), 400 where
 * parameters or a body are validated (zod pipe), 413 and 415 where a JSON
 * body is parsed (Fastify's body parser).
 */
function useProblemResponses(document: OpenAPIObject): void {
  const components = (document.components ??= {});
  const shared = (components.responses ??= {});
  components.schemas = { ...components.schemas, Problem: problemSchema() };
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const responses: Responses = ((operation as { responses?: Responses }).responses ??= {});
      const implied: number[] = [];
      if ((operation.security ?? document.security ?? []).length > 0) implied.push(401, 429, 503);
      if ((operation.parameters ?? []).length > 0 || operation.requestBody) implied.push(400);
      if (operation.requestBody) implied.push(413, 415);
      for (const status of implied) responses[String(status)] ??= { description: '' };
      for (const [status, response] of Object.entries(responses)) {
        const code = Number(status);
        if (!response || !(code >= 400) || '$ref' in response || response.content) continue;
        const name = problemResponseName(code);
        shared[name] ??= problemResponse(code);
        responses[status] = response.description
          ? { $ref: `#/components/responses/${name}`, description: response.description }
          : { $ref: `#/components/responses/${name}` };
      }
    }
  }
  components.responses = Object.fromEntries(Object.entries(shared).sort(([a], [b]) => a.localeCompare(b)));
}

/** `BadRequest`, `NotFound`, ...: the status's reason phrase as a component name. */
function problemResponseName(status: number): string {
  return (STATUS_CODES[status] ?? `Status ${status}`).replace(/[^A-Za-z0-9]+/g, ' ').replace(/(?:^| )(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The shared response of one error status, listing the problem types it can carry. */
function problemResponse(status: number) {
  const codes = (Object.keys(PROBLEM_TYPES) as ProblemCode[]).filter((code) => PROBLEM_TYPES[code].status === status);
  const types = codes.length ? ` Problem types: ${codes.map((c) => `\`${problemTypeUri(c)}\``).join(', ')}.` : '';
  return {
    description: `${STATUS_CODES[status] ?? `Status ${status}`}.${types}`,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: PROBLEM_SCHEMA_REF } } },
  };
}

/** RFC 9457 problem details as this API sends them (libs/http/src/problem.ts). */
function problemSchema() {
  return {
    type: 'object',
    description: 'Problem details (RFC 9457). Clients switch on `type`; `title` is fixed per type; `detail` is for humans.',
    required: ['type', 'title', 'status'],
    properties: {
      type: {
        type: 'string',
        format: 'uri-reference',
        description: 'The kind of error: `urn:shortener:problem:<code>` from the error code table, or `about:blank`.',
        examples: (Object.keys(PROBLEM_TYPES) as ProblemCode[]).map(problemTypeUri),
      },
      title: { type: 'string', description: 'A short summary, the same for every problem of this type.' },
      status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status code of the response.' },
      detail: { type: 'string', description: 'What went wrong with this request.' },
      instance: { type: 'string', format: 'uri-reference' },
      errors: {
        type: 'array',
        description: 'For `validation-failed`: one entry per invalid member.',
        items: {
          type: 'object',
          required: ['pointer', 'detail'],
          properties: {
            pointer: { type: 'string', description: 'JSON Pointer (RFC 6901) to the member in the request.' },
            detail: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
    },
    // Extension members (RFC 9457 section 3.2), e.g. `alias` on alias-taken.
    additionalProperties: true,
  };
}

import fc from 'fast-check';

/**
 * fast-check arbitraries derived from an OpenAPI 3.1 document: its
 * operations, and values for their parameters and JSON request bodies drawn
 * from the JSON Schema 2020-12 schemas the document gives them.
 *
 * The generator knows the keywords the served document uses and throws on
 * any other one, so a schema it cannot honour fails loudly instead of
 * yielding values the schema does not accept.
 */

/** A JSON Schema (2020-12) object, as found in an OpenAPI 3.1 document. */
export type JsonSchema = Record<string, unknown>;

/** The parts of an OpenAPI 3.1 document this module reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** One parameter of an operation (OpenAPI 3.1 section 4.8.12), its schema dereferenced. */
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

/** One operation of the document: method, path template, parameters and JSON request body. */
export interface OpenApiOperation {
  /** Lower-case HTTP method. */
  method: 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete' | 'options';
  /** Path template, e.g. `/api/v1/links/{code}`. */
  path: string;
  /** `METHOD path`, e.g. `GET /api/v1/links/{code}`. */
  key: string;
  parameters: OpenApiParameter[];
  /** The request body: whether it is required, and the schema of each JSON media type (dereferenced). */
  requestBody?: { required: boolean; content: Record<string, JsonSchema> };
  /** Response schemas by status code and media type (dereferenced; absent when a response has none). */
  responses: Record<string, Record<string, JsonSchema | undefined>>;
}

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

/** Media types whose bodies are JSON text (RFC 8259): `application/json` and `+json` structured suffixes (RFC 6839). */
export function isJsonMediaType(mediaType: string): boolean {
  const essence = mediaType.split(';')[0].trim().toLowerCase();
  return essence === 'application/json' || essence.endsWith('+json');
}

/**
 * Every operation of the document, with `$ref`s to `#/components/...`
 * replaced by what they point at.
 *
 * @throws when a `$ref` points outside the document or at nothing.
 */
export function operationsOf(doc: OpenApiDocument): OpenApiOperation[] {
  return Object.entries(doc.paths).flatMap(([path, rawItem]) => {
    const item = dereference(doc, rawItem) as Record<string, unknown>;
    const shared = (item.parameters ?? []) as Record<string, unknown>[];
    return METHODS.filter((m) => item[m] !== undefined).map((method): OpenApiOperation => {
      const op = item[method] as Record<string, unknown>;
      const own = (op.parameters ?? []) as Record<string, unknown>[];
      // An operation's parameter overrides a path-level one of the same name and location (OpenAPI 3.1 section 4.8.9).
      const byId = new Map<string, Record<string, unknown>>();
      for (const p of [...shared, ...own]) byId.set(`${p.in as string}:${p.name as string}`, p);
      const parameters = [...byId.values()].map((p) => ({
        name: p.name as string,
        in: p.in as OpenApiParameter['in'],
        required: p.in === 'path' || p.required === true,
        schema: (p.schema ?? {}) as JsonSchema,
      }));
      const body = op.requestBody as { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } | undefined;
      const jsonContent = Object.entries(body?.content ?? {}).filter(([type]) => isJsonMediaType(type));
      const responses = Object.fromEntries(
        Object.entries((op.responses ?? {}) as Record<string, { content?: Record<string, { schema?: JsonSchema }> }>).map(([status, r]) => [
          status,
          Object.fromEntries(Object.entries(r.content ?? {}).map(([type, media]) => [type, media.schema])),
        ]),
      );
      return {
        method,
        path,
        key: `${method.toUpperCase()} ${path}`,
        parameters,
        requestBody:
          jsonContent.length > 0
            ? { required: body?.required === true, content: Object.fromEntries(jsonContent.map(([type, media]) => [type, media.schema ?? {}])) }
            : undefined,
        responses,
      };
    });
  });
}

/**
 * `value` with every `{"$ref": "#/..."}` replaced by the JSON Pointer
 * (RFC 6901) target in `doc`, recursively. Sibling keywords of a `$ref`
 * (allowed in 3.1) are kept beside the target's.
 *
 * @throws on a reference that is not local, that points at nothing, or that
 *   is circular.
 */
export function dereference(doc: unknown, value: unknown, seen: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => dereference(doc, v, seen));
  if (value === null || typeof value !== 'object') return value;
  const { $ref, ...rest } = value as Record<string, unknown>;
  const own = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, dereference(doc, v, seen)]));
  if ($ref === undefined) return own;
  if (typeof $ref !== 'string' || !$ref.startsWith('#/')) throw new Error(`unsupported $ref ${JSON.stringify($ref)}`);
  if (seen.includes($ref)) throw new Error(`circular $ref ${[...seen, $ref].join(' -> ')}`);
  let target: unknown = doc;
  for (const token of $ref.slice(2).split('/')) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    target = target !== null && typeof target === 'object' ? (target as Record<string, unknown>)[key] : undefined;
  }
  if (target === undefined) throw new Error(`$ref ${$ref} points at nothing`);
  return { ...(dereference(doc, target, [...seen, $ref]) as object), ...own };
}

/** How {@link schemaArbitrary} draws values beyond what a schema says. */
export interface SchemaArbitraryOptions {
  /**
   * An arbitrary for the object member or parameter called `name` (its
   * schema given), used instead of one drawn from the schema; `undefined`
   * keeps the schema's. Values it yields must be valid for the schema.
   */
  byName?: (name: string, schema: JsonSchema) => fc.Arbitrary<unknown> | undefined;
  /** Arbitraries for string `format`s (JSON Schema 2020-12 validation section 7), e.g. `date-time`. */
  formats?: Record<string, fc.Arbitrary<string>>;
  /** Most items of a generated array when the schema allows more (default 8). */
  maxItems?: number;
  /** Longest generated free string when the schema allows longer (default 40 UTF-16 code units). */
  maxLength?: number;
}

/** Keywords that carry no constraint on the value (annotations, OpenAPI extensions of the 3.1 dialect). */
const ANNOTATIONS = new Set([
  'description',
  'title',
  'default',
  'examples',
  'example',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  'contentMediaType',
  'contentEncoding',
]);
/** Constraint keywords the generator honours. */
const HONOURED = new Set([
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);
/** Formats that are annotations only for the product's schemas (the value is still any string of the type). */
const FREE_FORMATS = new Set(['binary']);

/** Whether `s` has between `min` and `max` UTF-16 code units and as many code points: within both ways of counting a string's length. */
function lengthWithin(s: string, min: number, max: number): boolean {
  const codePoints = [...s].length;
  return s.length >= min && s.length <= max && codePoints >= min && codePoints <= max;
}

/** A JSON number in [min, max] (integers when `integer`), biased towards the bounds and small values. */
function numberArbitrary(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const exclusiveMin = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const exclusiveMax = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  let min = typeof schema.minimum === 'number' ? schema.minimum : (exclusiveMin ?? -1_000_000_000);
  let max = typeof schema.maximum === 'number' ? schema.maximum : (exclusiveMax ?? 1_000_000_000);
  if (integer) {
    min = Math.max(Math.ceil(exclusiveMin !== undefined && exclusiveMin >= min ? exclusiveMin + 1 : min), Number.MIN_SAFE_INTEGER);
    max = Math.min(Math.floor(exclusiveMax !== undefined && exclusiveMax <= max ? exclusiveMax - 1 : max), Number.MAX_SAFE_INTEGER);
    const span = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
    return fc.oneof({ weight: 3, arbitrary: span }, fc.constant(min), fc.constant(max));
  }
  return fc
    .double({ min, max, noNaN: true, noDefaultInfinity: true, minExcluded: exclusiveMin !== undefined, maxExcluded: exclusiveMax !== undefined })
    .filter((n) => !Object.is(n, -0));
}

/**
 * An arbitrary of JSON values valid for `schema` (dereferenced, e.g. by
 * {@link dereference}), JSON Schema 2020-12 semantics: `type` (one or a
 * list), `enum`, `const`, `anyOf`/`oneOf` (a branch drawn; branches of the
 * product's schemas are disjoint), objects with `properties`/`required`
 * (optional members present or absent; no members beyond `properties`),
 * arrays with `items`/`minItems`/`maxItems`, strings with
 * `minLength`/`maxLength` (code points and UTF-16 code units both kept in
 * bounds, since validators count either), `pattern` (ECMA-262) and `format`
 * (from `options.formats`), numbers with inclusive and exclusive bounds.
 *
 * @param name the member or parameter the schema belongs to, handed to `options.byName`.
 * @throws on a keyword outside that set, or a `format` with no arbitrary.
 */
export function schemaArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions = {}, name?: string): fc.Arbitrary<unknown> {
  const named = name === undefined ? undefined : options.byName?.(name, schema);
  if (named) return named;
  for (const keyword of Object.keys(schema)) {
    if (!HONOURED.has(keyword) && !ANNOTATIONS.has(keyword) && !keyword.startsWith('x-')) {
      throw new Error(`schemaArbitrary: keyword "${keyword}" is not supported (schema ${JSON.stringify(schema).slice(0, 200)})`);
    }
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (branches) {
    const { anyOf: _a, oneOf: _o, ...siblings } = schema;
    return fc.oneof(...branches.map((b) => schemaArbitrary({ ...withoutAnnotations(siblings), ...b }, options)));
  }
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : [];
  if (types.length === 0)
    throw new Error(`schemaArbitrary: a schema without type, const, enum or anyOf is not supported (${JSON.stringify(schema).slice(0, 200)})`);
  if (types.length > 1) return fc.oneof(...types.map((type) => schemaArbitrary({ ...schema, type }, options)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'string':
      return stringArbitrary(schema, options);
    case 'array': {
      if (!schema.items || typeof schema.items !== 'object') throw new Error('schemaArbitrary: an array schema needs an items schema');
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : Infinity, minLength + (options.maxItems ?? 8));
      return fc.array(schemaArbitrary(schema.items as JsonSchema, options), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      const missing = required.filter((r) => !(r in properties));
      if (missing.length > 0) throw new Error(`schemaArbitrary: required members without a schema: ${missing.join(', ')}`);
      const members = Object.fromEntries(Object.entries(properties).map(([member, s]) => [member, schemaArbitrary(s, options, member)]));
      return recordOf(members, required);
    }
    default:
      throw new Error(`schemaArbitrary: type "${types[0]}" is not supported`);
  }
}

const ABSENT = Symbol('absent');

/**
 * An arbitrary of objects with the given members, those not in `required`
 * absent half of the time (fast-check's `record` leaves out one in six,
 * which rarely draws an object without several of them).
 */
export function recordOf(members: Record<string, fc.Arbitrary<unknown>>, required: string[]): fc.Arbitrary<Record<string, unknown>> {
  const drawn = Object.fromEntries(Object.entries(members).map(([k, arb]) => [k, required.includes(k) ? arb : fc.option(arb, { nil: ABSENT, freq: 2 })]));
  return fc.record(drawn).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ABSENT)));
}

function withoutAnnotations(schema: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !ANNOTATIONS.has(k)));
}

function stringArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const format = typeof schema.format === 'string' && !FREE_FORMATS.has(schema.format) ? schema.format : undefined;
  let base: fc.Arbitrary<string>;
  if (format !== undefined) {
    const byFormat = options.formats?.[format];
    if (!byFormat) throw new Error(`schemaArbitrary: no arbitrary for format "${format}"`);
    base = pattern ? byFormat.filter((s) => pattern.test(s)) : byFormat;
  } else if (pattern) {
    base = fc.stringMatching(pattern);
  } else {
    const longest = Math.min(maxLength, minLength + (options.maxLength ?? 40));
    // ASCII and any Unicode scalar values (astral ones included), so both counts of length are exercised.
    base = fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength, maxLength: longest }), fc.string({ unit: 'grapheme', minLength, maxLength: longest }));
  }
  return base.filter((s) => lengthWithin(s, minLength, maxLength));
}

/** One place in a JSON value where a mutation can go: its JSON Pointer (RFC 6901), the value there and its schema. */
export interface JsonSlot {
  pointer: string;
  value: unknown;
  schema: JsonSchema | undefined;
}

/**
 * Every member and array item of `value` (not the root), each with the
 * schema that governs it in `schema` (found through `properties`, `items`
 * and the `anyOf`/`oneOf` branch whose `type` matches), or `undefined`
 * where the schema says nothing. With `absent`, also the members an
 * object's schema declares that the object lacks (their `value` undefined).
 */
export function slotsOf(value: unknown, schema: JsonSchema | undefined, options: { absent?: boolean } = {}, pointer = ''): JsonSlot[] {
  if (value === null || typeof value !== 'object') return [];
  const s = branchFor(value, schema);
  const properties = s?.properties as Record<string, JsonSchema> | undefined;
  const entries: [string, unknown, JsonSchema | undefined][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v, s?.items as JsonSchema | undefined])
    : Object.entries(value).map(([k, v]) => [k, v, properties?.[k]]);
  if (options.absent && !Array.isArray(value) && properties) {
    for (const [k, child] of Object.entries(properties)) if (!(k in value)) entries.push([k, undefined, child]);
  }
  return entries.flatMap(([token, v, child]) => {
    const at = `${pointer}/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return [{ pointer: at, value: v, schema: branchFor(v, child) }, ...slotsOf(v, child, options, at)];
  });
}

/** The JSON Schema `type` name of a JSON value. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function branchFor(value: unknown, schema: JsonSchema | undefined): JsonSchema | undefined {
  const branches = (schema?.anyOf ?? schema?.oneOf) as JsonSchema[] | undefined;
  if (!schema || !branches) return schema;
  // An absent member takes any branch: the first that is not null.
  if (value === undefined) return branches.find((b) => b.type !== 'null') ?? schema;
  const type = jsonTypeOf(value);
  const fits = (b: JsonSchema) => {
    const t = b.type;
    const list = Array.isArray(t) ? t : [t];
    return list.includes(type) || (type === 'integer' && list.includes('number')) || (b.const !== undefined && b.const === value);
  };
  return branches.find(fits) ?? schema;
}

/** `value` with the member or item at `pointer` (RFC 6901, not the root) replaced by `replacement`; `value` itself is not changed. */
export function replaceAt(value: unknown, pointer: string, replacement: unknown): unknown {
  const [head, ...rest] = pointer.slice(1).split('/');
  const token = head.replace(/~1/g, '/').replace(/~0/g, '~');
  const inner = (current: unknown) => (rest.length === 0 ? replacement : replaceAt(current, `/${rest.join('/')}`, replacement));
  if (Array.isArray(value)) return value.map((v, i) => (String(i) === token ? inner(v) : v));
  const object = value as Record<string, unknown>;
  return { ...object, [token]: inner(object[token]) };
}

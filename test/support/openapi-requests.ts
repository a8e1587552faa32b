import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import fc from 'fast-check';
import type { RawRequest, RawResponse } from './fuzz-http';
import { JsonSchema, OpenApiOperation, SchemaArbitraryOptions, isJsonMediaType, recordOf, schemaArbitrary } from './openapi-arbitraries';

/**
 * Requests that an OpenAPI 3.1 document says are valid, generated for each
 * of its operations, with path parameters that name real resources:
 *
 * - a path parameter `{p}` of `/x/{p}...` names a resource made by the
 *   collection's `POST /x`, whose 2xx answer has a member `p` (the link's
 *   `code`, the key's `id`, the blocklist entry's `host`); a DELETE gets a
 *   resource made for it alone, other methods pick one of a few kept ones;
 * - a parameter or member called like a member of an earlier 2xx answer
 *   (`domain`, `accountId`; `nextCursor` feeds `cursor`) takes one of the
 *   values seen, preferably from the same operation, when it is valid for
 *   its schema; otherwise a value drawn from its schema. A continuation
 *   token (`nextCursor`) only feeds the operation that gave it: another
 *   list's cursor means nothing there.
 *
 * Nothing names an operation: a route added to the document is covered as
 * it is served.
 */

/** A value decided when the request is sent: one seen in an earlier answer, else `fallback`. */
class SeenValue {
  constructor(
    readonly name: string,
    readonly pick: number,
    readonly fallback: unknown,
    readonly schema: JsonSchema,
  ) {}
}

/** A path parameter decided when the request is sent: a resource made by `producer`. */
class ResourceValue {
  constructor(
    readonly param: string,
    readonly producer: OpenApiOperation,
    readonly pick: number,
    /** A resource made for this request alone (a DELETE consumes it). */
    readonly fresh: boolean,
  ) {}
}

/** A generated request before values that depend on the server's state are known. */
export interface RequestDraft {
  op: OpenApiOperation;
  pathParams: Record<string, unknown>;
  query: Record<string, unknown>;
  headerParams: Record<string, unknown>;
  body?: { mediaType: string; value: unknown };
}

/** A valid request with every value known; {@link serialize} writes it. */
export interface ValidRequest {
  op: OpenApiOperation;
  /** Path parameter values, not yet percent-encoded. */
  pathParams: Record<string, string>;
  /** Query parameters in order, values not yet percent-encoded (an array parameter repeats its name). */
  query: [string, string][];
  /** Every header field: the base ones, the operation's header parameters, `content-type` with a body. */
  headers: Record<string, string>;
  body?: { mediaType: string; value: unknown };
}

/** Replacements written as they are, for mutated requests: path segments and query values already encoded, the body's text. */
export interface RawParts {
  path?: Record<string, string>;
  query?: Record<string, string>;
  bodyText?: string;
}

/**
 * Writes a request: path parameters and query values percent-encoded as
 * URI components (RFC 3986), query parameters in form style (`name=value`,
 * `&`-separated), the body as JSON text. `raw` replaces parts as written;
 * a raw query value for a name the request lacks is appended.
 */
export function serialize(request: ValidRequest, raw: RawParts = {}): RawRequest {
  const path = request.op.path.replace(/\{([^}]+)\}/g, (_, name: string) => raw.path?.[name] ?? encodeURIComponent(request.pathParams[name] ?? ''));
  const pairs = request.query.map(([name, value]) => `${encodeURIComponent(name)}=${raw.query?.[name] ?? encodeURIComponent(value)}`);
  for (const [name, value] of Object.entries(raw.query ?? {})) {
    if (!request.query.some(([n]) => n === name)) pairs.push(`${encodeURIComponent(name)}=${value}`);
  }
  const body = raw.bodyText ?? (request.body ? JSON.stringify(request.body.value) : undefined);
  return { method: request.op.method, path: pairs.length > 0 ? `${path}?${pairs.join('&')}` : path, headers: request.headers, body };
}

/** Sends a request the generator made (`purpose`: `producer` when it makes a resource for another request) and returns the answer, or `undefined` when none came. */
export type Exchange = (op: OpenApiOperation, request: RawRequest, purpose: 'request' | 'producer') => Promise<RawResponse | undefined>;

/** What {@link OpenApiRequests} needs besides the document's operations. */
export interface OpenApiRequestsOptions extends SchemaArbitraryOptions {
  /** Header fields of every request (e.g. `authorization`). */
  headers: Record<string, string>;
  /** Tries at making one resource before giving up. */
  producerAttempts?: number;
  /** Resources kept per producer for requests that only read or change them. */
  keptResources?: number;
}

const MAX_SEEN_PER_NAME = 64;

/**
 * Generates valid requests for the operations of one document against one
 * running server (see the module comment), remembering what the server's
 * 2xx answers returned.
 */
export class OpenApiRequests {
  private readonly ajv = new Ajv2020({ strict: false, validateFormats: false });
  private readonly validators = new WeakMap<JsonSchema, ValidateFunction>();
  /** Values seen by member name, per operation key. */
  private readonly seen = new Map<string, Map<string, unknown[]>>();
  /** Names fed by continuation tokens (`cursor` from `nextCursor`). */
  private readonly continuations = new Set<string>();
  private readonly kept = new Map<string, string[]>();
  private readonly producerDrafts = new Map<string, Iterator<RequestDraft>>();
  private readonly arbitraries = new Map<string, fc.Arbitrary<RequestDraft>>();

  constructor(
    private readonly operations: OpenApiOperation[],
    private readonly exchange: Exchange,
    private readonly options: OpenApiRequestsOptions,
    private readonly seed: number,
  ) {}

  /**
   * The operation whose 2xx answer makes the resource a path parameter
   * names: `POST` on the path before `/{param}`, or `undefined`.
   */
  producerOf(op: OpenApiOperation, param: string): OpenApiOperation | undefined {
    const at = op.path.indexOf(`/{${param}}`);
    if (at < 0) return undefined;
    const collection = op.path.slice(0, at);
    return this.operations.find((o) => o.method === 'post' && o.path === collection);
  }

  /** The arbitrary of drafts of `op`: parameters and body from their schemas, path parameters as resources when a producer exists. */
  draftArbitrary(op: OpenApiOperation): fc.Arbitrary<RequestDraft> {
    const cached = this.arbitraries.get(op.key);
    if (cached) return cached;
    const seenOr = (name: string, schema: JsonSchema, base: fc.Arbitrary<unknown>) =>
      fc.tuple(fc.nat(), fc.nat(4), base).map(([pick, coin, fallback]) => (coin < 4 ? new SeenValue(name, pick, fallback, schema) : fallback));
    // Every named member and parameter, at any depth, may take a value seen in an answer.
    const withNames: SchemaArbitraryOptions = {
      ...this.options,
      byName: (name, schema) => seenOr(name, schema, this.options.byName?.(name, schema) ?? schemaArbitrary(schema, withNames)),
    };
    const params = (where: string) => op.parameters.filter((p) => p.in === where);
    const pathParams = Object.fromEntries(
      params('path').map((p) => {
        const producer = this.producerOf(op, p.name);
        const arbitrary = producer
          ? fc.nat().map((pick) => new ResourceValue(p.name, producer, pick, op.method === 'delete'))
          : schemaArbitrary(p.schema, withNames, p.name);
        return [p.name, arbitrary];
      }),
    );
    const record = (list: typeof op.parameters, value: (p: (typeof op.parameters)[number]) => fc.Arbitrary<unknown>) =>
      recordOf(
        Object.fromEntries(list.map((p) => [p.name, value(p)])),
        list.filter((p) => p.required).map((p) => p.name),
      );
    const query = record(params('query'), (p) => schemaArbitrary(p.schema, withNames, p.name));
    // Header values must be visible ASCII (RFC 9110 section 5.5); a plain string schema gets a token.
    const headerValue = (p: { name: string; schema: JsonSchema }) =>
      this.options.byName?.(p.name, p.schema) ??
      (p.schema.type === 'string' && !p.schema.pattern && !p.schema.enum ? fc.stringMatching(/^[A-Za-z0-9._~-]{8,64}$/) : schemaArbitrary(p.schema, withNames));
    const headerParams = record(params('header'), headerValue);
    const content = Object.entries(op.requestBody?.content ?? {});
    const body =
      content.length === 0
        ? fc.constant(undefined)
        : fc.oneof(...content.map(([mediaType, schema]) => schemaArbitrary(schema, withNames).map((value) => ({ mediaType, value }))));
    const arbitrary = fc
      .record({ pathParams: fc.record(pathParams), query, headerParams, body })
      .map(({ body: b, ...rest }): RequestDraft => ({ op, ...rest, ...(b ? { body: b } : {}) }));
    this.arbitraries.set(op.key, arbitrary);
    return arbitrary;
  }

  /** `count` drafts of `op`, the same for the same seed (derived from the generator's seed and the operation's key). */
  drafts(op: OpenApiOperation, count: number, salt = ''): RequestDraft[] {
    return fc.sample(this.draftArbitrary(op), { seed: seedFor(this.seed, `${salt}${op.key}`), numRuns: count });
  }

  /** Endless drafts of `op`, drawn 32 at a time, the same for the same seed. */
  *draftStream(op: OpenApiOperation, salt = ''): Iterator<RequestDraft> {
    for (let batch = 0; ; batch += 1) yield* this.drafts(op, 32, `${salt}${batch} `);
  }

  /**
   * Decides a draft's late values: resources for path parameters (made now
   * when needed, through {@link Exchange}), values seen in answers.
   *
   * @throws when no resource could be made for a path parameter.
   */
  async resolve(draft: RequestDraft): Promise<ValidRequest> {
    const op = draft.op;
    const pathParams: Record<string, string> = {};
    for (const [name, value] of Object.entries(draft.pathParams))
      pathParams[name] = String(await this.valueOf(value instanceof ResourceValue ? value : this.settle(op, value)));
    const query: [string, string][] = [];
    for (const [name, value] of Object.entries(draft.query)) {
      const v = this.settle(op, value);
      for (const item of Array.isArray(v) ? v : [v]) query.push([name, typeof item === 'string' ? item : JSON.stringify(item)]);
    }
    const headers: Record<string, string> = { ...this.options.headers };
    for (const [name, value] of Object.entries(draft.headerParams)) headers[name.toLowerCase()] = String(this.settle(op, value));
    let body: ValidRequest['body'];
    if (draft.body) {
      body = { mediaType: draft.body.mediaType, value: this.settle(op, draft.body.value) };
      headers['content-type'] = draft.body.mediaType;
    }
    return { op, pathParams, query, headers, ...(body ? { body } : {}) };
  }

  /** Records the members of a 2xx JSON answer of `op` by name (`nextX` also as `x`), for later requests. */
  observe(op: OpenApiOperation, response: RawResponse): void {
    if (response.status < 200 || response.status > 299 || !isJsonMediaType(String(response.headers['content-type'] ?? ''))) return;
    let value: unknown;
    try {
      value = JSON.parse(response.text);
    } catch {
      return;
    }
    const byName = this.seen.get(op.key) ?? new Map<string, unknown[]>();
    this.seen.set(op.key, byName);
    const record = (name: string, v: unknown) => {
      const list = byName.get(name) ?? [];
      if (!list.includes(v)) list.push(v);
      if (list.length > MAX_SEEN_PER_NAME) list.shift();
      byName.set(name, list);
    };
    const walk = (v: unknown) => {
      if (v === null || typeof v !== 'object') return;
      for (const [name, member] of Array.isArray(v) ? v.map((m) => ['', m] as const) : Object.entries(v)) {
        if (name !== '' && member !== null && typeof member !== 'object') {
          record(name, member);
          const next = /^next([A-Z].*)$/.exec(name);
          if (next) {
            const fed = next[1][0].toLowerCase() + next[1].slice(1);
            this.continuations.add(fed);
            record(fed, member);
          }
        }
        walk(member);
      }
    };
    walk(value);
  }

  private settle(op: OpenApiOperation, value: unknown): unknown {
    if (value instanceof SeenValue) {
      const candidates = this.seenFor(op, value.name).filter((v) => this.validator(value.schema)(v));
      return candidates.length > 0 ? candidates[value.pick % candidates.length] : this.settle(op, value.fallback);
    }
    if (Array.isArray(value)) return value.map((v) => this.settle(op, v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.settle(op, v)]));
    return value;
  }

  /** Values seen for `name`: from `op`'s own answers when there are any (only those for a continuation token), else from every operation's. */
  private seenFor(op: OpenApiOperation, name: string): unknown[] {
    const own = this.seen.get(op.key)?.get(name);
    if ((own && own.length > 0) || this.continuations.has(name)) return own ?? [];
    return [...this.seen.values()].flatMap((m) => m.get(name) ?? []);
  }

  private validator(schema: JsonSchema): ValidateFunction {
    let v = this.validators.get(schema);
    if (!v) {
      v = this.ajv.compile(schema);
      this.validators.set(schema, v);
    }
    return v;
  }

  private async valueOf(value: unknown): Promise<unknown> {
    if (!(value instanceof ResourceValue)) return value;
    if (value.fresh) return this.make(value.producer, value.param);
    const key = `${value.producer.key} ${value.param}`;
    const kept = this.kept.get(key) ?? [];
    this.kept.set(key, kept);
    if (kept.length < (this.options.keptResources ?? 4)) kept.push(await this.make(value.producer, value.param));
    return kept[value.pick % kept.length];
  }

  /** Makes one resource with `producer` and returns its member `param`. */
  private async make(producer: OpenApiOperation, param: string): Promise<string> {
    let drafts = this.producerDrafts.get(producer.key);
    if (!drafts) {
      drafts = this.draftStream(producer, 'producer ');
      this.producerDrafts.set(producer.key, drafts);
    }
    const attempts = this.options.producerAttempts ?? 20;
    const answers: string[] = [];
    for (let i = 0; i < attempts; i += 1) {
      const draft = drafts.next().value as RequestDraft;
      const request = serialize(await this.resolve(draft));
      const response = await this.exchange(producer, request, 'producer');
      if (!response) continue;
      answers.push(`${response.status} ${response.text.slice(0, 200)}`);
      if (response.status < 200 || response.status > 299) continue;
      const made = (JSON.parse(response.text) as Record<string, unknown>)[param];
      if (typeof made === 'string' || typeof made === 'number') return String(made);
      throw new Error(`${producer.key} answered ${response.status} without a member "${param}": ${response.text.slice(0, 300)}`);
    }
    throw new Error(`${producer.key} made no resource for {${param}} in ${attempts} tries; answers: ${answers.join(' | ')}`);
  }
}

/** A 32-bit seed from a run's seed and a label (FNV-1a of the label mixed in), so each label has its own stream. */
export function seedFor(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < label.length; i += 1) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h | 0;
}

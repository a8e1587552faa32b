import fc from 'fast-check';
import type { RawRequest } from './fuzz-http';
import { JsonSchema, replaceAt, slotsOf } from './openapi-arbitraries';
import { ValidRequest, serialize } from './openapi-requests';

/**
 * Invalid requests made from valid ones ({@link ValidRequest}) by changing
 * one path parameter, query parameter or body member to a value that
 * parsers and databases get wrong: a lone UTF-16 surrogate, a 20-digit
 * number, a year-0000 instant, an oversized string; and bodies nested to a
 * chosen depth.
 */

/** The kinds of value {@link mutationArbitrary} puts in. */
export const MUTATION_KINDS = ['lone-surrogate', 'twenty-digits', 'year-0000', 'oversized'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

/** One mutated request: what changed where, and the request as written. */
export interface Mutation {
  kind: MutationKind;
  /** `path {name}`, `query name` or `body /json/pointer`. */
  where: string;
  request: RawRequest;
}

/** Longest oversized value put in a path or query: past Node's 16 KiB limit on the request line and headers. */
const OVERSIZED_TARGET = 20_000;
/** Longest oversized string put in a body: past the 64 KiB default body limit. */
const OVERSIZED_BODY = 70_000;

/** A lone high and a lone low surrogate (U+D800, U+DC00) as UTF-8 would encode them (CESU-8 bytes, invalid UTF-8), percent-encoded. */
const SURROGATE_ESCAPES = ['%ED%A0%80', 'a%ED%A0%80b', '%ED%B0%80%ED%A0%80'];
const TWENTY_DIGITS = ['12345678901234567890', '99999999999999999999', '-10000000000000000000'];
/** Instants of year 0000 (ISO 8601 year zero, 1 BCE), in RFC 3339 syntax; the second is a leap day. */
const YEAR_ZERO = ['0000-01-01T00:00:00Z', '0000-02-29T12:00:00.999-01:00', '0000-12-31T23:59:59+23:59'];

interface Place {
  where: string;
  /** The value there now, when it has one. */
  value: unknown;
  schema: JsonSchema | undefined;
  write: (rawText: string) => RawRequest;
  /** How a value is written there: percent-encoded in the target, JSON text in a body. */
  encoding: 'target' | 'json';
}

/** Every place of `request` a mutation can change: path and query parameters and body members, declared ones present or not. */
function placesOf(request: ValidRequest): Place[] {
  const places: Place[] = [];
  for (const p of request.op.parameters) {
    if (p.in === 'path')
      places.push({
        where: `path {${p.name}}`,
        value: request.pathParams[p.name],
        schema: p.schema,
        encoding: 'target',
        write: (raw) => serialize(request, { path: { [p.name]: raw } }),
      });
    if (p.in === 'query') {
      const present = request.query.find(([n]) => n === p.name);
      places.push({
        where: `query ${p.name}`,
        value: present?.[1],
        schema: p.schema,
        encoding: 'target',
        write: (raw) => serialize(request, { query: { [p.name]: raw } }),
      });
    }
  }
  if (request.body) {
    const schema = request.op.requestBody?.content[request.body.mediaType];
    const sentinel = `\u0000slot-${Math.random().toString(36).slice(2)}\u0000`;
    for (const slot of slotsOf(request.body.value, schema, { absent: true })) {
      const withSentinel = JSON.stringify(replaceAt(request.body.value, slot.pointer, sentinel));
      places.push({
        where: `body ${slot.pointer}`,
        value: slot.value,
        schema: slot.schema,
        encoding: 'json',
        write: (raw) => serialize(request, { bodyText: withSentinel.replace(JSON.stringify(sentinel), () => raw) }),
      });
    }
  }
  if (places.length === 0) {
    // An operation without parameters or body still parses its query string.
    places.push({ where: 'query fuzz', value: undefined, schema: undefined, encoding: 'target', write: (raw) => serialize(request, { query: { fuzz: raw } }) });
  }
  return places;
}

const isDateTime = (s: JsonSchema | undefined) =>
  s?.format === 'date-time' || (Array.isArray(s?.anyOf) && (s.anyOf as JsonSchema[]).some((b) => b.format === 'date-time'));
const isStringSlot = (p: Place) => typeof p.value === 'string' || p.schema?.type === 'string' || p.encoding === 'target';

/** The raw texts a kind of mutation writes at a place. */
function textsFor(kind: MutationKind, place: Place): string[] {
  const json = place.encoding === 'json';
  const current = typeof place.value === 'string' ? place.value : '';
  switch (kind) {
    case 'lone-surrogate':
      if (!json) return SURROGATE_ESCAPES.map((s) => `${encodeURIComponent([...current].slice(0, 8).join('').toWellFormed())}${s}`);
      return ['"\\ud800"', `${JSON.stringify(current).slice(0, -1)}\\ud800"`, `"\\udc00${JSON.stringify(current).slice(1)}`];
    case 'twenty-digits':
      return json ? [...TWENTY_DIGITS, ...TWENTY_DIGITS.map((d) => `"${d}"`)] : TWENTY_DIGITS;
    case 'year-0000':
      return json ? YEAR_ZERO.map((d) => JSON.stringify(d)) : YEAR_ZERO.map(encodeURIComponent);
    case 'oversized': {
      const limit = typeof place.schema?.maxLength === 'number' ? place.schema.maxLength : undefined;
      const lengths = json
        ? [...(limit !== undefined ? [limit + 1] : []), OVERSIZED_BODY]
        : [...(limit !== undefined ? [limit + 1] : []), 1_000, OVERSIZED_TARGET];
      return lengths.flatMap((n) =>
        json ? [JSON.stringify('x'.repeat(n)), JSON.stringify('é'.repeat(n))] : ['x'.repeat(n), '%C3%A9'.repeat(Math.ceil(n / 6))],
      );
    }
  }
}

/** Places where a kind of mutation is meaningful: year-0000 instants where the schema holds a date-time (any string place when none does). */
function placesFor(kind: MutationKind, places: Place[]): Place[] {
  if (kind === 'year-0000') {
    const dated = places.filter((p) => isDateTime(p.schema));
    return dated.length > 0 ? dated : places.filter(isStringSlot);
  }
  if (kind === 'lone-surrogate' || kind === 'oversized') {
    const strings = places.filter(isStringSlot);
    return strings.length > 0 ? strings : places;
  }
  return places;
}

/** An arbitrary of single-place mutations of `request`, of the given kinds. */
export function mutationArbitrary(request: ValidRequest, kinds: readonly MutationKind[] = MUTATION_KINDS): fc.Arbitrary<Mutation> {
  const places = placesOf(request);
  return fc
    .constantFrom(...kinds)
    .chain((kind) =>
      fc
        .constantFrom(...placesFor(kind, places))
        .chain((place) => fc.constantFrom(...textsFor(kind, place)).map((text): Mutation => ({ kind, where: place.where, request: place.write(text) }))),
    );
}

/** How a nested body is built: arrays (`[[...]]`) or objects (`{"a":{"a":...}}`). */
export type Nesting = 'array' | 'object';

/** JSON text of containers nested `levels` deep (the innermost one empty), e.g. 3 arrays: `[[[]]]`. */
export function nestedJson(levels: number, nesting: Nesting): string {
  if (levels < 1) throw new Error('nestedJson: at least one level');
  return nesting === 'array' ? `${'['.repeat(levels)}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

/**
 * `request` with a body whose nesting depth is exactly `depth`, the depth
 * of a JSON text being the most containers (objects and arrays) open at
 * once: `{}` is 1, `{"a":[1]}` is 2. The nested containers replace one
 * member of the valid body (chosen by `pick`) or are the whole body.
 *
 * @throws when the request has no JSON body or `depth` is below 1.
 */
export function nestedRequest(request: ValidRequest, depth: number, nesting: Nesting, pick: number): { where: string; request: RawRequest } {
  if (!request.body) throw new Error(`${request.op.key} has no JSON body`);
  const value = request.body.value;
  // A member at pointer /a/b sits inside 2 containers; its replacement supplies the remaining levels.
  const slots = slotsOf(value, undefined).filter((s) => s.pointer.split('/').length - 1 < depth);
  if (slots.length === 0 || pick % (slots.length + 1) === slots.length)
    return { where: 'body (root)', request: serialize(request, { bodyText: nestedJson(depth, nesting) }) };
  const slot = slots[pick % (slots.length + 1)];
  const around = slot.pointer.split('/').length - 1;
  const sentinel = `\u0000nest-${Math.random().toString(36).slice(2)}\u0000`;
  const text = JSON.stringify(replaceAt(value, slot.pointer, sentinel)).replace(JSON.stringify(sentinel), () => nestedJson(depth - around, nesting));
  return { where: `body ${slot.pointer}`, request: serialize(request, { bodyText: text }) };
}

/** The nesting depth of a JSON text (see {@link nestedRequest}), counted over its structural characters. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth -= 1;
  }
  return max;
}

import { jsonPointer, problem, ProblemDetails } from '@shortener/http';
import { REDIRECT_TYPES } from './link.entity';
import { z } from 'zod';
import { instant, storableText, targetText, text } from './input.schemas';
import { LINK_STATES } from './link-state';

const redirectType = z.union(REDIRECT_TYPES.map((t) => z.literal(t)) as [z.ZodLiteral<301>, z.ZodLiteral<302>, z.ZodLiteral<307>, z.ZodLiteral<308>]);
const tag = text().trim().min(1).max(64);
const title = text().max(500);
// The real target limit is configured (MAX_TARGET_LENGTH_BYTES) and checked by
// the domain with a clear problem; this only bounds what is parsed at all.
const url = targetText().min(1).max(65_536);

/** `POST /api/v1/links` body (docs/design.md section 3). Unknown members are refused. */
export const createLinkSchema = z
  .object({
    url,
    alias: text().min(1).max(256).optional(),
    domain: text().min(1).max(253).optional(),
    expiresAt: instant().optional(),
    maxClicks: z.int().min(1).max(1_000_000_000_000).optional(),
    redirectType: redirectType.default(302),
    forwardQuery: z.boolean().default(true),
    tags: z.array(tag).max(32).default([]),
    title: title.nullish(),
  })
  .strict();
export type CreateLinkInput = z.output<typeof createLinkSchema>;

/** Most items in one bulk create (docs/design.md section 3). */
export const MAX_BULK_ITEMS = 1_000;

/** One problem of a refused value: the JSON Pointer (RFC 6901) of the member and what is wrong with it. */
export interface ValidationIssue {
  pointer: string;
  detail: string;
}

/**
 * A bulk item that {@link createLinkSchema} refused, kept in its place so
 * that it fails alone while the other items are created. `input` is the
 * item as sent, so that the request's fingerprint tells two different
 * refused items apart; `issues` point into the item (`/title`, or `` for
 * the item itself).
 */
export class RefusedBulkItem {
  constructor(
    readonly input: unknown,
    readonly issues: readonly ValidationIssue[],
  ) {}

  /**
   * The item's 400 `validation-failed` problem, its pointers made absolute
   * in the request body (`/items/<index>/...`). The texts are made
   * storable (a lone surrogate or U+0000 in a member name becomes U+FFFD):
   * the problem may be stored as an idempotent response.
   */
  problem(index: number): ProblemDetails {
    const errors = this.issues.map((i) => ({ pointer: storableText(`/items/${index}${i.pointer}`), detail: storableText(i.detail) }));
    return problem('validation-failed', errors.map((e) => `${e.pointer}: ${e.detail}`).join('; '), { errors });
  }
}

function refusedItem(ctx: z.core.$ZodCatchCtx | undefined): CreateLinkInput {
  // JSON Schema generation calls this without a context, looking for a static
  // default: none, so the item stays documented as createLinkSchema.
  if (ctx === undefined) return undefined as never;
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- ctx.error has the finalized issues (path, message); ctx.issues, its replacement, has raw ones
  const issues = ctx.error.issues.map((i) => ({ pointer: jsonPointer(i.path), detail: i.message }));
  // A value of the schema's output type in zod's eyes; BulkCreateLinksInput says what it really is.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- ctx.input, kept beside ctx.error above (ctx.value is its replacement)
  return new RefusedBulkItem(ctx.input, issues) as unknown as CreateLinkInput;
}

/**
 * `POST /api/v1/links/bulk` body: independent creates. An item that its
 * schema refuses becomes a {@link RefusedBulkItem} (its result is a 400
 * problem) instead of refusing the request: only the envelope (1 to
 * {@link MAX_BULK_ITEMS} items, no other member) refuses it as a whole.
 */
export const bulkCreateLinksSchema = z.object({ items: z.array(createLinkSchema.catch(refusedItem)).min(1).max(MAX_BULK_ITEMS) }).strict();
/** The parsed bulk body: each item created from, or refused. */
export interface BulkCreateLinksInput {
  items: (CreateLinkInput | RefusedBulkItem)[];
}

/** `GET /api/v1/links/{code}/qr` query. */
export const qrCodeSchema = z
  .object({
    format: z.enum(['png', 'svg']).default('png'),
    size: z.coerce.number().int().min(64).max(2048).default(512),
    domain: text().min(1).max(253).optional(),
  })
  .strict();
export type QrCodeInput = z.output<typeof qrCodeSchema>;

/**
 * `PATCH /api/v1/links/{code}` body, a JSON Merge Patch (RFC 7396): absent
 * members stay, `null` clears an optional member (or resets it to its
 * default). The code and domain never change. `disabled: true` pauses a
 * link (its redirect answers 410 until `disabled: false` or `null`).
 */
export const updateLinkSchema = z
  .object({
    url: url.optional(),
    expiresAt: instant().nullable().optional(),
    maxClicks: z.int().min(1).max(1_000_000_000_000).nullable().optional(),
    redirectType: redirectType.nullable().optional(),
    forwardQuery: z.boolean().nullable().optional(),
    tags: z.array(tag).max(32).nullable().optional(),
    title: title.nullable().optional(),
    disabled: z.boolean().nullable().optional(),
  })
  .strict();
export type UpdateLinkInput = z.output<typeof updateLinkSchema>;

/** `GET /api/v1/links` query. */
export const listLinksSchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: text().max(200).optional(),
    tag: tag.optional(),
    state: z.enum(LINK_STATES).optional(),
    q: text().trim().min(1).max(200).optional(),
  })
  .strict();
export type ListLinksInput = z.output<typeof listLinksSchema>;

/** `?domain=` on routes that address one link by code. */
export const linkAddressSchema = z.object({ domain: text().min(1).max(253).optional() }).strict();

/**
 * A link as the API returns it (create, read, update, list): the response
 * body's schema in the OpenAPI document and the type the presenter builds.
 * Instants are RFC 3339 UTC strings.
 */
export const linkResponseSchema = z.object({
  code: z.string().describe('The short code or alias'),
  domain: z.string().describe('The short domain'),
  shortUrl: z.string().describe("The short URL: the domain's base URL and the percent-encoded code"),
  url: z.string().describe('The target as stored and served (WHATWG URL serialization)'),
  alias: z.boolean().describe('Whether the code is a client-chosen alias'),
  title: z.string().nullable(),
  tags: z.array(z.string()),
  redirectType: redirectType,
  forwardQuery: z.boolean().describe("Whether the request's query is appended to the target"),
  expiresAt: z.string().nullable(),
  maxClicks: z.int().nullable(),
  clicks: z.int().min(0).describe('Clicks committed to the rollups so far'),
  state: z.enum(LINK_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The `nextCursor` member of every keyset-paginated page. */
export const nextCursorSchema = z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last');

/** A page of `GET /api/v1/links`, newest first. */
export const linkPageSchema = z.object({
  items: z.array(linkResponseSchema),
  nextCursor: nextCursorSchema,
});

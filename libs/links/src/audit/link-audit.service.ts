import { Injectable } from '@nestjs/common';
import { Principal } from '@shortener/auth';
import { LinkEntity } from '../application/link.entity';
import { LINK_AUDIT_ACTIONS, LinkAuditAction } from './link-audit-action';
import { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { invalidCursor, MAX_INT8 } from '../application/link-cursor';
import { nextCursorSchema } from '../application/link.schemas';

/** A link's audited state: what an API client can change, and whether it is disabled or deleted. Instants are RFC 3339 UTC. */
export const auditedLinkStateSchema = z.object({
  url: z.string(),
  title: z.string().nullable(),
  tags: z.array(z.string()),
  redirectType: z.int(),
  forwardQuery: z.boolean(),
  expiresAt: z.string().nullable(),
  maxClicks: z.int().nullable(),
  disabledAt: z.string().nullable(),
  deletedAt: z.string().nullable(),
});
export type AuditedLinkState = z.infer<typeof auditedLinkStateSchema>;

/** One audit record as the API returns it: the response schema in the OpenAPI document and the type the service builds. */
export const linkAuditRecordSchema = z.object({
  id: z.string().describe('Decimal string of a bigint; increasing'),
  at: z.string().describe("RFC 3339 UTC instant of the change (its transaction's start)"),
  action: z.enum(LINK_AUDIT_ACTIONS as [LinkAuditAction, ...LinkAuditAction[]]),
  link: z.object({ id: z.string(), domain: z.string(), code: z.string(), accountId: z.uuid() }),
  actor: z.object({ keyId: z.uuid(), accountId: z.uuid() }).describe('The API key that made the change, and its account'),
  before: auditedLinkStateSchema.nullable().describe('null for a create'),
  after: auditedLinkStateSchema,
});
export type LinkAuditRecord = z.infer<typeof linkAuditRecordSchema>;

/** A page of audit records, newest first. */
export const linkAuditPageSchema = z.object({
  items: z.array(linkAuditRecordSchema),
  nextCursor: nextCursorSchema,
});
export type LinkAuditPage = z.infer<typeof linkAuditPageSchema>;

/** Filters of {@link LinkAuditService.list}. */
export interface LinkAuditQuery {
  /** Only the trail of this link (domain host and code). */
  link?: { domain: string; code: string };
  cursor?: string;
  limit: number;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** What {@link auditedState} reads of a link. */
export type AuditedLinkFields = Pick<
  LinkEntity,
  'target' | 'title' | 'tags' | 'redirectType' | 'forwardQuery' | 'expiresAt' | 'maxClicks' | 'disabledAt' | 'deletedAt'
>;

/** The audited state of a link row (or of the values a new row is inserted with). */
export function auditedState(link: AuditedLinkFields): AuditedLinkState {
  return {
    url: link.target,
    title: link.title,
    tags: link.tags,
    redirectType: Number(link.redirectType),
    forwardQuery: link.forwardQuery,
    expiresAt: iso(link.expiresAt),
    maxClicks: link.maxClicks,
    disabledAt: iso(link.disabledAt),
    deletedAt: iso(link.deletedAt),
  };
}

/**
 * The audit trail of link changes (who, what, when; before and after),
 * written by the link service inside the transaction of each change, so
 * there is never a change without its record or a record of a change that
 * rolled back. Read by admins through `GET /api/v1/audit`, newest first,
 * with keyset pagination on the record id.
 */
@Injectable()
export class LinkAuditService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Records one change inside the caller's transaction.
   * @param m the transaction of the change
   * @param before the link before the change; null for a create
   * @param after the link as the change left it
   */
  async record(m: EntityManager, actor: Principal, action: LinkAuditAction, before: LinkEntity | null, after: LinkEntity): Promise<void> {
    await m.query(
      `INSERT INTO link_audit (link_id, domain, code, link_account_id, actor_key_id, actor_account_id, action, before, after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        after.id,
        after.domain,
        after.code,
        after.accountId,
        actor.keyId,
        actor.accountId,
        action,
        before ? JSON.stringify(auditedState(before)) : null,
        JSON.stringify(auditedState(after)),
      ],
    );
  }

  /**
   * A page of records, newest first.
   * @throws DomainError `cursor-invalid` for a cursor not made by this API
   */
  async list(q: LinkAuditQuery): Promise<LinkAuditPage> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (q.link) {
      params.push(q.link.domain, q.link.code);
      where.push(`domain = $${params.length - 1} AND code = $${params.length}`);
    }
    if (q.cursor !== undefined) {
      params.push(decodeAuditCursor(q.cursor));
      where.push(`id < $${params.length}`);
    }
    params.push(q.limit + 1);
    // ORDER BY names the column: a bare `id` would be the text output column.
    const rows: Record<string, any>[] = await this.dataSource.query(
      `SELECT id::text AS id, link_id::text AS link_id, domain, code, link_account_id, actor_key_id, actor_account_id, action, before, after, at
         FROM link_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY link_audit.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit).map((r): LinkAuditRecord => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      action: r.action,
      link: { id: r.link_id, domain: r.domain, code: r.code, accountId: r.link_account_id },
      actor: { keyId: r.actor_key_id, accountId: r.actor_account_id },
      before: r.before,
      after: r.after,
    }));
    const last = page.at(-1);
    return { items: page, nextCursor: rows.length > q.limit && last ? encodeAuditCursor(last.id) : null };
  }
}

/** An opaque base64url token of the last id of a page. */
export function encodeAuditCursor(id: string): string {
  return Buffer.from(`audit.${id}`, 'utf8').toString('base64url');
}

/**
 * The id behind a token made by {@link encodeAuditCursor}: base64url exactly
 * as it writes it, of an id a PostgreSQL `bigint` holds.
 * @param pointer the JSON Pointer of the parameter that carried the token, for the problem
 * @throws DomainError `cursor-invalid` for anything else, naming `pointer` in `errors`
 */
export function decodeAuditCursor(token: string, pointer = '/cursor'): string {
  const m = /^audit\.(\d{1,20})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  // Buffer skips characters outside the alphabet: a token is only what encodeAuditCursor writes.
  if (!m || BigInt(m[1]) > MAX_INT8 || encodeAuditCursor(m[1]) !== token) throw invalidCursor(pointer);
  return m[1];
}

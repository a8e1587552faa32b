import { Injectable } from '@nestjs/common';
import { PgPools } from '@shortener/database';
import { LinkEntity, RedirectType } from './link.entity';
import { DatabaseError, type QueryResult, type QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { BatchOutcome, Batcher, DeadlineExceededError, RequestDeadline, currentDeadline, withinDeadline } from '@shortener/common';
import { LinkCursor } from './link-cursor';
import { SequenceBlock } from './sequence-block';

/** Columns of a new link. */
export interface NewLink {
  domain: string;
  code: string;
  accountId: string;
  target: string;
  title: string | null;
  tags: string[];
  redirectType: RedirectType;
  forwardQuery: boolean;
  isAlias: boolean;
  expiresAt: Date | null;
  maxClicks: number | null;
}

/** Who makes a change, as the audit trail records it: the API key and its account. */
export interface AuditActor {
  keyId: string;
  accountId: string;
}

/** List filters; `accountId` null lists every account (admins). */
export interface LinkListQuery {
  accountId: string | null;
  limit: number;
  after?: LinkCursor;
  tag?: string;
  state?: 'active' | 'expired' | 'exhausted' | 'disabled' | 'deleted';
  text?: string;
}

// tags as JSON: JSON.parse reads a list of 32 tags several times faster than the text[] parser does.
const COLUMNS = `id, domain, code, account_id, target, title, to_json(tags) AS tags, redirect_type, forward_query, is_alias, expires_at,
  max_clicks, clicks_consumed, click_total, expired_at, disabled_at, deleted_at, created_at, updated_at,
  (extract(epoch from created_at) * 1000000)::bigint::text AS created_at_micros`;

// What an insert returns: what the database made. The rest of the row is what
// was sent ({@link insertedRow}): reading a 10 MiB bulk's targets back cost as
// much CPU and memory as sending them.
const INSERTED = `id, domain, code, account_id, created_at, updated_at,
  (extract(epoch from created_at) * 1000000)::bigint::text AS created_at_micros`;

/** Values of `link_code_seq` one query reserves for a process (see {@link SequenceBlock}). */
export const CODE_SEQUENCE_BLOCK_SIZE = 32;

const RESERVE_CODE_VALUES_SQL = `SELECT nextval('link_code_seq')::text AS v FROM generate_series(1, $1)`;

/** Most creates one batched statement carries. */
export const CREATE_BATCH_MAX = 64;
/** Most batched create statements running at once (each holds a pooled connection); later creates wait for the next batch. */
export const CREATE_BATCHES_IN_FLIGHT = 4;

// A create's audited state, as auditedState() gives it for the row the input
// makes (a new link is neither disabled nor deleted), built by PostgreSQL
// from the input instead of sent a second time: a 10 MiB bulk sent 20 MiB.
const CREATED_STATE = `jsonb_build_object('url', input.target, 'title', input.title, 'tags', to_jsonb(input.tags),
    'redirectType', input.redirect_type, 'forwardQuery', input.forward_query,
    'expiresAt', to_char(input.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'maxClicks', input.max_clicks, 'disabledAt', NULL, 'deletedAt', NULL)`;

// The links of the `input` rows and their audit records, matched on (domain,
// code), in one statement: a record only for a link that was inserted (the
// audit CTE reads the link CTE's RETURNING rows), and one commit for all of
// them, every link with its record or nothing. Data-modifying CTEs run
// exactly once, whether or not the outer query reads them.
const INSERT_INPUT_AUDITED = `link AS (
  INSERT INTO links (domain, code, account_id, target, title, tags, redirect_type, forward_query, is_alias, expires_at, max_clicks)
  SELECT domain, code, account_id, target, title, tags, redirect_type, forward_query, is_alias, expires_at, max_clicks FROM input
  ON CONFLICT (domain, code) DO NOTHING
  RETURNING ${INSERTED}
), audit AS (
  INSERT INTO link_audit (link_id, domain, code, link_account_id, actor_key_id, actor_account_id, action, before, after)
  SELECT link.id, link.domain, link.code, link.account_id, input.actor_key_id, input.actor_account_id, 'create', NULL, ${CREATED_STATE}
    FROM link JOIN input USING (domain, code)
)
SELECT * FROM link`;

// One create, its values as parameters.
const CREATE_LINK_SQL = `WITH input AS (
  SELECT $1::text AS domain, $2::text AS code, $3::uuid AS account_id, $4::text AS target, $5::text AS title, $6::text[] AS tags,
    $7::smallint AS redirect_type, $8::boolean AS forward_query, $9::boolean AS is_alias, $10::timestamptz AS expires_at,
    $11::bigint AS max_clicks, $12::uuid AS actor_key_id, $13::uuid AS actor_account_id
), ${INSERT_INPUT_AUDITED}`;

// Several creates (distinct (domain, code) pairs) as one JSON array.
const CREATE_LINKS_SQL = `WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(domain text, code text, account_id uuid, target text, title text, tags text[],
    redirect_type smallint, forward_query boolean, is_alias boolean, expires_at timestamptz, max_clicks bigint,
    actor_key_id uuid, actor_account_id uuid)
), ${INSERT_INPUT_AUDITED}`;

/** One create: the link and who makes it (its audit record's state is built from the link, see CREATED_STATE). */
export interface PendingCreate {
  link: NewLink;
  actor: AuditActor;
  /** The deadline of the request that asked for it: a create whose deadline passed while it waited for a batch is not sent. */
  deadline?: RequestDeadline;
}

const createKey = (c: PendingCreate) => `${c.link.domain}/${c.link.code}`;

/** The deadline of a batch's creates that passes first, if any has one. */
function earliestDeadline(batch: PendingCreate[]): RequestDeadline | undefined {
  let earliest: RequestDeadline | undefined;
  for (const { deadline } of batch) if (deadline && (!earliest || deadline.expiresAt < earliest.expiresAt)) earliest = deadline;
  return earliest;
}

/** One create as a record of CREATE_LINKS_SQL's input. */
const createInput = ({ link: l, actor }: PendingCreate) => ({
  domain: l.domain,
  code: l.code,
  account_id: l.accountId,
  target: l.target,
  title: l.title,
  tags: l.tags,
  redirect_type: l.redirectType,
  forward_query: l.forwardQuery,
  is_alias: l.isAlias,
  expires_at: l.expiresAt,
  max_clicks: l.maxClicks,
  actor_key_id: actor.keyId,
  actor_account_id: actor.accountId,
});

/**
 * The row of a link just inserted: the values sent, with the id and times the
 * database gave it (`r`, the {@link INSERTED} columns). A new link has no
 * clicks and is neither expired, disabled nor deleted (the table's defaults).
 */
function insertedRow(l: NewLink, r: Record<string, any>): LinkRow {
  const e = new LinkEntity() as LinkRow;
  e.id = String(r.id);
  e.domain = l.domain;
  e.code = l.code;
  e.accountId = l.accountId;
  e.target = l.target;
  e.title = l.title;
  e.tags = l.tags;
  e.redirectType = l.redirectType;
  e.forwardQuery = l.forwardQuery;
  e.isAlias = l.isAlias;
  e.expiresAt = l.expiresAt;
  e.maxClicks = l.maxClicks;
  e.clicksConsumed = 0;
  e.clickTotal = 0;
  e.expiredAt = null;
  e.disabledAt = null;
  e.deletedAt = null;
  e.createdAt = r.created_at;
  e.updatedAt = r.updated_at;
  e.createdAtMicros = r.created_at_micros;
  return e;
}

/** A row with its keyset position. */
export type LinkRow = LinkEntity & { createdAtMicros: string };

function toEntity(r: Record<string, any>): LinkRow {
  const e = new LinkEntity() as LinkRow;
  e.id = String(r.id);
  e.domain = r.domain;
  e.code = r.code;
  e.accountId = r.account_id;
  e.target = r.target;
  e.title = r.title;
  e.tags = r.tags;
  e.redirectType = Number(r.redirect_type) as RedirectType;
  e.forwardQuery = r.forward_query;
  e.isAlias = r.is_alias;
  e.expiresAt = r.expires_at;
  e.maxClicks = r.max_clicks === null ? null : Number(r.max_clicks);
  e.clicksConsumed = Number(r.clicks_consumed);
  e.clickTotal = Number(r.click_total);
  e.expiredAt = r.expired_at;
  e.disabledAt = r.disabled_at;
  e.deletedAt = r.deleted_at;
  e.createdAt = r.created_at;
  e.updatedAt = r.updated_at;
  e.createdAtMicros = r.created_at_micros;
  return e;
}

// TypeORM answers UPDATE/DELETE ... RETURNING with [rows, rowCount], INSERT and SELECT with rows.
function returnedRows(result: unknown): Record<string, any>[] {
  const r = result as unknown[];
  return Array.isArray(r[0]) ? (r[0] as Record<string, any>[]) : (r as Record<string, any>[]);
}

/**
 * Snapshots of a batch of links for the redirect: `$1` domains and `$2`
 * codes, parallel text arrays; one row per stored link, with its `domain`
 * and `code` to match them up (unknown ones have no row). A nested loop of
 * index lookups on the `(domain, code)` unique index whatever the batch size.
 */
const SNAPSHOT_BATCH_SQL = `SELECT l.domain, l.code, l.id, l.target, l.redirect_type, l.forward_query, l.expires_at, l.max_clicks, l.deleted_at, l.disabled_at
  FROM unnest($1::text[], $2::text[]) AS k(domain, code)
  JOIN links l ON l.domain = k.domain AND l.code = k.code`;
// Atomic max-clicks consumption (docs/design.md section 5): one conditional update, exact under concurrency.
const CONSUME_CLICK_SQL = `UPDATE links SET clicks_consumed = clicks_consumed + 1
  WHERE id = $1 AND (max_clicks IS NULL OR clicks_consumed < max_clicks) RETURNING id`;
const HAS_CLICKS_LEFT_SQL = `SELECT 1 FROM links WHERE id = $1 AND (max_clicks IS NULL OR clicks_consumed < max_clicks)`;
const IDENTITY_SQL = `SELECT id::text AS id, account_id, domain, code FROM links WHERE domain = $1 AND code = $2`;
const EXISTING_IDS_SQL = `SELECT id::text AS id FROM links WHERE id = ANY($1::bigint[])`;
const LOCK_FOR_CLICK_TOTALS_SQL = `SELECT id FROM links WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`;
const ADD_CLICK_TOTALS_SQL = `
  UPDATE links AS l SET click_total = l.click_total + u.clicks
    FROM unnest($1::bigint[], $2::bigint[]) AS u(id, clicks)
   WHERE l.id = u.id`;
// Candidates come from links_deleted_with_clicks_idx (deleted, click_total > 0).
// The rows are locked first (skipping busy ones, so this never waits) so a
// link revived meanwhile is left alone; a deleted link gets no clicks, so no
// rollup transaction holds its rollup rows.
const LOCK_PURGEABLE_SQL = `
  SELECT id::text AS id FROM links
   WHERE deleted_at IS NOT NULL AND deleted_at < $1 AND click_total > 0
   ORDER BY deleted_at
   LIMIT $2
   FOR UPDATE SKIP LOCKED`;
const RESET_CLICK_TOTALS_SQL = `UPDATE links SET click_total = 0 WHERE id = ANY($1::bigint[])`;
// SKIP LOCKED: a link being edited right now is taken by the next sweep.
// The predicate implies links_pending_expiry_idx's, so the scan is an index scan.
const MARK_EXPIRED_SQL = `
  WITH due AS (
    SELECT id FROM links
     WHERE expires_at <= $1 AND expired_at IS NULL AND deleted_at IS NULL
     ORDER BY expires_at
     LIMIT $2
     FOR UPDATE SKIP LOCKED
  )
  UPDATE links AS l SET expired_at = $1 FROM due WHERE l.id = due.id
  RETURNING l.domain, l.code`;

/** The fields of a link an update may change (absent: unchanged). */
export interface LinkChanges {
  target?: string;
  title?: string | null;
  tags?: string[];
  redirectType?: RedirectType;
  forwardQuery?: boolean;
  expiresAt?: Date | null;
  expiredAt?: Date | null;
  maxClicks?: number | null;
  clicksConsumed?: number;
  disabledAt?: Date | null;
  deletedAt?: Date | null;
}

/** The column of each field of {@link LinkChanges}: the only column names an update writes. */
const CHANGE_COLUMNS: Record<keyof LinkChanges, string> = {
  target: 'target',
  title: 'title',
  tags: 'tags',
  redirectType: 'redirect_type',
  forwardQuery: 'forward_query',
  expiresAt: 'expires_at',
  expiredAt: 'expired_at',
  maxClicks: 'max_clicks',
  clicksConsumed: 'clicks_consumed',
  disabledAt: 'disabled_at',
  deletedAt: 'deleted_at',
};

/** A connection inside the caller's transaction (a checked-out `pg` client): what the transaction-scoped methods run on. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** Who owns a link, for reads that check access before anything else. */
export interface LinkIdentity {
  id: string;
  accountId: string;
  domain: string;
  code: string;
}

// LIKE patterns take the text literally.
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * All SQL of the `links` table, in one place: parameterised SQL through
 * `pg` (the pools of {@link PgPools}, or the transaction's TypeORM
 * EntityManager for writes inside one); see docs/decisions/0001-data-access.md.
 * Methods that take a {@link Queryable} run inside the caller's transaction
 * (the click rollup's, housekeeping's); the others take their own connection.
 */
@Injectable()
export class LinkRepository {
  private readonly codeValues: SequenceBlock;
  private readonly creates: Batcher<PendingCreate, LinkRow | null>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly pools: PgPools,
  ) {
    this.codeValues = new SequenceBlock(async (count) => {
      const { rows } = await this.pools.write.query({ name: 'shortener_reserve_code_values', text: RESERVE_CODE_VALUES_SQL, values: [count] });
      return rows.map((r: { v: string }) => BigInt(r.v));
    }, CODE_SEQUENCE_BLOCK_SIZE);
    this.creates = new Batcher((batch) => this.createBatch(batch), { maxBatch: CREATE_BATCH_MAX, maxInFlight: CREATE_BATCHES_IN_FLIGHT, keyOf: createKey });
  }

  /**
   * An unused value of the code sequence (docs/design.md section 4), from a block
   * of {@link CODE_SEQUENCE_BLOCK_SIZE} values this process reserved: one
   * query per block, none for the rest. Values are never handed out twice;
   * unused ones (a restart, a failed create) leave harmless gaps.
   * @throws when PostgreSQL fails to reserve a block.
   */
  nextCodeSequence(): Promise<bigint> {
    return this.codeValues.take();
  }

  /**
   * Inserts a link unless (domain, code) exists, with its `create` audit
   * record (`after` the link's state as `auditedState` gives it, `before`
   * null) in the same statement: both or neither.
   *
   * With `m`: one statement inside the caller's transaction. Without: in
   * autocommit, batched with the other creates of the same event-loop turn
   * (at most {@link CREATE_BATCH_MAX} per statement and
   * {@link CREATE_BATCHES_IN_FLIGHT} statements at once, one prepared
   * statement per pooled connection): one round trip and one commit (WAL
   * flush) for the batch, which holds distinct (domain, code) pairs only. A
   * batch that PostgreSQL refuses (it rolled back: nothing of it is written)
   * is retried one create per statement, so a create fails only for its own
   * error; a batch lost with its connection fails each of its creates.
   * @returns the inserted row, or null when (domain, code) exists (nothing is written then, and a transaction stays usable).
   * @throws the PostgreSQL error of this create's statement.
   */
  insertIfAbsentAudited(m: EntityManager | null, link: NewLink, actor: AuditActor): Promise<LinkRow | null> {
    if (m) return this.createOne(m, { link, actor });
    return this.creates.submit({ link, actor, deadline: currentDeadline() });
  }

  /**
   * {@link insertIfAbsentAudited} for several links inside the caller's
   * transaction `m`: one statement per {@link CREATE_BATCH_MAX} links, in
   * order. The (domain, code) pairs must be distinct.
   * @returns per link, in order, its inserted row or null when (domain, code) exists (nothing written for it).
   * @throws the PostgreSQL error of a statement (the transaction is then aborted).
   */
  async insertManyIfAbsentAudited(m: EntityManager, creates: PendingCreate[]): Promise<(LinkRow | null)[]> {
    const out: (LinkRow | null)[] = [];
    for (let start = 0; start < creates.length; start += CREATE_BATCH_MAX) {
      const chunk = creates.slice(start, start + CREATE_BATCH_MAX);
      const rows: Record<string, any>[] = await m.query(CREATE_LINKS_SQL, [JSON.stringify(chunk.map(createInput))]);
      const inserted = new Map<string, Record<string, any>>();
      for (const r of rows) inserted.set(`${r.domain}/${r.code}`, r);
      for (const c of chunk) {
        const r = inserted.get(createKey(c));
        out.push(r ? insertedRow(c.link, r) : null);
      }
    }
    return out;
  }

  /** One create in a statement of its own, under its request's deadline. */
  private createAlone(create: PendingCreate): Promise<BatchOutcome<LinkRow | null>> {
    return withinDeadline(create.deadline, () => this.createOne(null, create)).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }

  private async createOne(m: EntityManager | null, { link: l, actor }: PendingCreate): Promise<LinkRow | null> {
    const values = [
      l.domain,
      l.code,
      l.accountId,
      l.target,
      l.title,
      l.tags,
      l.redirectType,
      l.forwardQuery,
      l.isAlias,
      l.expiresAt,
      l.maxClicks,
      actor.keyId,
      actor.accountId,
    ];
    const rows: Record<string, any>[] = m
      ? await m.query(CREATE_LINK_SQL, values)
      : (await this.pools.write.query({ name: 'shortener_create_link', text: CREATE_LINK_SQL, values })).rows;
    return rows.length ? insertedRow(l, rows[0]) : null;
  }

  private async createBatch(pending: PendingCreate[]): Promise<BatchOutcome<LinkRow | null>[]> {
    const late = pending.map((c) => c.deadline?.expired === true);
    if (!late.includes(true)) return this.createLive(pending);
    const live = pending.filter((_, i) => !late[i]);
    const outcomes = live.length > 0 ? await this.createLive(live) : [];
    let next = 0;
    return pending.map((c, i) => (late[i] ? { error: new DeadlineExceededError(c.deadline!.budgetMs) } : outcomes[next++]));
  }

  /**
   * One statement for the batch, under the earliest deadline of its creates:
   * cancelled then, the statement rolls back and each create is tried again
   * alone under its own deadline (one whose deadline passed fails at once),
   * so a create never commits after its request was told it did not.
   */
  private async createLive(batch: PendingCreate[]): Promise<BatchOutcome<LinkRow | null>[]> {
    if (batch.length === 1) return [await this.createAlone(batch[0])];
    const input = batch.map(createInput);
    let rows: Record<string, any>[];
    try {
      ({ rows } = await withinDeadline(earliestDeadline(batch), () =>
        this.pools.write.query({ name: 'shortener_create_links', text: CREATE_LINKS_SQL, values: [JSON.stringify(input)] }),
      ));
    } catch (error) {
      // An error answer (a cancel included) means the statement rolled back, and a deadline that passed during the pool
      // wait means it was never sent; anything else (a lost connection) may have committed, so it is not retried.
      if (!(error instanceof DatabaseError) && !(error instanceof DeadlineExceededError)) throw error;
      return Promise.all(batch.map((c) => this.createAlone(c)));
    }
    const inserted = new Map<string, Record<string, any>>();
    for (const r of rows) inserted.set(`${r.domain}/${r.code}`, r);
    return batch.map((c) => {
      const r = inserted.get(createKey(c));
      return { value: r ? insertedRow(c.link, r) : null };
    });
  }

  /** The link of (domain, code), locked for update when `forUpdate`. */
  async find(m: EntityManager | null, domain: string, code: string, forUpdate = false): Promise<LinkRow | null> {
    const rows = await (m ?? this.dataSource.manager).query(`SELECT ${COLUMNS} FROM links WHERE domain = $1 AND code = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
      domain,
      code,
    ]);
    return rows.length ? toEntity(rows[0]) : null;
  }

  /** Writes the given fields of a link (each to its column, {@link CHANGE_COLUMNS}) and bumps `updated_at`, in the caller's transaction. */
  async update(m: EntityManager, id: string, changes: LinkChanges): Promise<LinkRow> {
    const fields = (Object.keys(changes) as (keyof LinkChanges)[]).filter((f) => changes[f] !== undefined);
    const sets = fields.map((f, i) => `${CHANGE_COLUMNS[f]} = $${i + 2}`);
    const rows = await m
      .query(`UPDATE links SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, [id, ...fields.map((f) => changes[f])])
      .then(returnedRows);
    return toEntity(rows[0]);
  }

  /** A page of links, newest first, keyset-paginated on (created_at, id). */
  async list(q: LinkListQuery): Promise<LinkRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.accountId) where.push(`account_id = ${p(q.accountId)}`);
    if (q.after) {
      where.push(`(created_at, id) < (timestamptz 'epoch' + ${p(q.after.createdAtMicros)}::bigint * interval '1 microsecond', ${p(q.after.id)}::bigint)`);
    }
    if (q.tag) where.push(`tags @> ARRAY[${p(q.tag)}]::text[]`);
    if (q.state === 'deleted') where.push('deleted_at IS NOT NULL');
    if (q.state === 'expired') where.push('deleted_at IS NULL AND expires_at <= now()');
    if (q.state === 'exhausted') where.push('deleted_at IS NULL AND max_clicks IS NOT NULL AND clicks_consumed >= max_clicks');
    if (q.state === 'disabled') where.push('deleted_at IS NULL AND disabled_at IS NOT NULL');
    if (q.state === 'active') {
      where.push(
        'deleted_at IS NULL AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AND (max_clicks IS NULL OR clicks_consumed < max_clicks)',
      );
    }
    if (q.text) where.push(`(target || ' ' || coalesce(title, '')) ILIKE ${p(`%${escapeLike(q.text)}%`)}`);
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM links ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT ${p(q.limit)}`,
      params,
    );
    return rows.map(toEntity);
  }

  /**
   * The redirect's snapshot rows of the links at `domains[i]`/`codes[i]`
   * (parallel arrays), from the read pool (a replica when configured), as a
   * named statement (parsed and planned once per connection). Links that do
   * not exist have no row; each row carries its `domain` and `code`.
   */
  async redirectSnapshotRows(domains: string[], codes: string[]): Promise<Record<string, any>[]> {
    const { rows } = await this.pools.read.query({ name: 'shortener_redirect_snapshots', text: SNAPSHOT_BATCH_SQL, values: [domains, codes] });
    return rows as Record<string, any>[];
  }

  /**
   * Takes one click of a limited link's budget (`max_clicks`) on the
   * primary, atomically: false when it was already used up (or the link is gone).
   */
  async consumeClick(id: string): Promise<boolean> {
    return ((await this.pools.write.query(CONSUME_CLICK_SQL, [id])).rowCount ?? 0) > 0;
  }

  /** Whether a limited link has clicks left, without taking one (HEAD, preview bots). */
  async hasClicksLeft(id: string): Promise<boolean> {
    return ((await this.pools.write.query(HAS_CLICKS_LEFT_SQL, [id])).rowCount ?? 0) > 0;
  }

  /** Id and owner of the link at `domain`/`code`, deleted or not, from the primary; null when there is none. */
  async findIdentity(domain: string, code: string): Promise<LinkIdentity | null> {
    const { rows } = await this.pools.write.query<{ id: string; account_id: string; domain: string; code: string }>(IDENTITY_SQL, [domain, code]);
    const r = rows.at(0);
    return r ? { id: r.id, accountId: r.account_id, domain: r.domain, code: r.code } : null;
  }

  /** Which of `ids` (decimal strings) are stored links, in the caller's transaction. */
  async existingIds(client: Queryable, ids: readonly string[]): Promise<Set<string>> {
    return new Set((await client.query<{ id: string }>(EXISTING_IDS_SQL, [ids])).rows.map((r) => r.id));
  }

  /**
   * Adds `clicks[i]` to the `click_total` of link `ids[i]`, in the caller's
   * transaction: the rows are locked in id order first (FOR NO KEY UPDATE,
   * which the redirect's own update of the row does not wait for), so
   * concurrent rollups never deadlock.
   */
  async addClickTotals(client: Queryable, ids: readonly string[], clicks: readonly number[]): Promise<void> {
    await client.query(LOCK_FOR_CLICK_TOTALS_SQL, [ids]);
    await client.query(ADD_CLICK_TOTALS_SQL, [ids, clicks]);
  }

  /**
   * Locks up to `limit` links deleted before `deletedBefore` that still have
   * clicks, oldest deletion first, skipping rows other transactions hold,
   * in the caller's transaction; returns their ids.
   */
  async lockPurgeable(client: Queryable, deletedBefore: Date, limit: number): Promise<string[]> {
    return (await client.query<{ id: string }>(LOCK_PURGEABLE_SQL, [deletedBefore, limit])).rows.map((r) => r.id);
  }

  /** Sets `click_total` of `ids` back to 0 (their analytics purged), in the caller's transaction. */
  async resetClickTotals(client: Queryable, ids: readonly string[]): Promise<void> {
    await client.query(RESET_CLICK_TOTALS_SQL, [ids]);
  }

  /**
   * Marks up to `limit` links whose expiry is at or before `now` as expired
   * (`expired_at = now`), earliest first, skipping rows being edited, in one
   * autocommit statement on the primary; returns their domains and codes.
   */
  async markExpired(now: Date, limit: number): Promise<{ domain: string; code: string }[]> {
    return (await this.pools.write.query<{ domain: string; code: string }>(MARK_EXPIRED_SQL, [now, limit])).rows;
  }
}

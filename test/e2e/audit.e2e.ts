import { DomainError } from '@shortener/common';
import { PgPools } from '@shortener/database';
import { auditedState, createLinkSchema, LinkService } from '@shortener/links';
import { DataSource } from 'typeorm';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createdCode, createLink, mintKey } from '../support/links';
import { expectProblem } from '../support/problem';
import { TEST_ADMIN_KEY } from '../support/test-env';

/**
 * The audit trail of link changes: who (key and account), what (create,
 * update, delete; before and after), when; written in the transaction of
 * the change; read by admins at GET /api/v1/audit with keyset pagination.
 */
describe('link audit trail', () => {
  let api: TestApi;
  let db: DataSource;
  let admin: { keyId: string; accountId: string };
  beforeAll(async () => {
    api = await startTestApi();
    db = api.app.get(DataSource);
    const keys = await api.http().get('/api/v1/api-keys').set('authorization', api.adminAuth);
    const own = keys.body.items.find((k: { prefix: string }) => TEST_ADMIN_KEY.startsWith(`sk_${k.prefix}_`));
    admin = { keyId: own.id, accountId: own.accountId };
  });
  afterAll(() => api.close());

  const trail = (code: string, query = '') =>
    api
      .http()
      .get(`/api/v1/audit?link=${encodeURIComponent(code)}${query}`)
      .set('authorization', api.adminAuth);

  /** Whether the link row's current version and the audit record were written by one (sub)transaction. */
  async function sameTransaction(linkId: string, auditId: string): Promise<boolean> {
    const [row] = await db.query(`SELECT (SELECT xmin::text FROM links WHERE id = $1) = (SELECT xmin::text FROM link_audit WHERE id = $2) AS same`, [
      linkId,
      auditId,
    ]);
    return row.same;
  }

  it('records who created, changed and deleted a link, with before and after, newest first', async () => {
    const member = await mintKey(api, 'member');
    const alias = uniqueAlias('aud');
    const created = await createLink(api, { url: 'https://example.com/v1', alias, tags: ['a'], maxClicks: 5 }, member.auth);
    expect(created.status).toBe(201);
    const afterCreate = await trail(alias);
    expect(afterCreate.body.items).toHaveLength(1);
    expect(await sameTransaction(afterCreate.body.items[0].link.id, afterCreate.body.items[0].id)).toBe(true);

    const patched = await api
      .http()
      .patch(`/api/v1/links/${alias}`)
      .set('authorization', api.adminAuth)
      .send({ url: 'https://example.com/v2', title: 'T', maxClicks: null });
    expect(patched.status).toBe(200);
    const afterPatch = await trail(alias, '&limit=1');
    expect(await sameTransaction(afterPatch.body.items[0].link.id, afterPatch.body.items[0].id)).toBe(true);

    expect((await api.http().delete(`/api/v1/links/${alias}`).set('authorization', member.auth)).status).toBe(204);
    const res = await trail(alias);
    expect(res.status).toBe(200);
    const [deleted, updated, create] = res.body.items;
    expect(await sameTransaction(deleted.link.id, deleted.id)).toBe(true);

    const link = { id: expect.stringMatching(/^\d+$/), domain: 'short.example', code: alias, accountId: member.accountId };
    const v1 = {
      url: 'https://example.com/v1',
      title: null,
      tags: ['a'],
      redirectType: 302,
      forwardQuery: true,
      expiresAt: null,
      maxClicks: 5,
      disabledAt: null,
      deletedAt: null,
    };
    const v2 = { ...v1, url: 'https://example.com/v2', title: 'T', maxClicks: null };
    const at = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(res.body).toEqual({
      items: [
        {
          id: expect.any(String),
          at,
          action: 'delete',
          link,
          actor: { keyId: member.id, accountId: member.accountId },
          before: v2,
          after: { ...v2, deletedAt: at },
        },
        { id: expect.any(String), at, action: 'update', link, actor: admin, before: v1, after: v2 },
        { id: expect.any(String), at, action: 'create', link, actor: { keyId: member.id, accountId: member.accountId }, before: null, after: v1 },
      ],
      nextCursor: null,
    });
    expect(new Set([deleted.link.id, updated.link.id, create.link.id]).size).toBe(1);
    expect(BigInt(deleted.id) > BigInt(updated.id) && BigInt(updated.id) > BigInt(create.id)).toBe(true);
    expect(deleted.after.deletedAt >= create.at).toBe(true);
  });

  it('pages with an opaque cursor, newest first, until nextCursor is null', async () => {
    // The next ids cross a power of ten (e.g. 98, 99, 100, ...): newest first must be numeric, not text, order.
    await db.query(`SELECT setval(pg_get_serial_sequence('link_audit', 'id'), power(10, ceil(log(greatest(max(id), 9) + 3)))::bigint - 3) FROM link_audit`);
    const alias = await createdCode(api, { url: 'https://example.com/p0', alias: uniqueAlias('page') });
    for (let i = 1; i <= 4; i += 1) {
      expect(
        (
          await api
            .http()
            .patch(`/api/v1/links/${alias}`)
            .set('authorization', api.adminAuth)
            .send({ url: `https://example.com/p${i}` })
        ).status,
      ).toBe(200);
    }
    const all = (await trail(alias)).body.items as { id: string; after: { url: string } }[];
    expect(all.map((r) => r.after.url)).toEqual([
      'https://example.com/p4',
      'https://example.com/p3',
      'https://example.com/p2',
      'https://example.com/p1',
      'https://example.com/p0',
    ]);
    expect(all.map((r) => r.id.length)).toEqual([3, 3, 3, 2, 2].map((n) => n + all[4].id.length - 2));
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await trail(alias, `&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      pages.push(page.body.items.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual([all.slice(0, 2).map((r) => r.id), all.slice(2, 4).map((r) => r.id), all.slice(4).map((r) => r.id)]);
    // Without a link filter: every link's changes, the newest first.
    const latest = await api.http().get('/api/v1/audit?limit=1').set('authorization', api.adminAuth);
    expect(latest.body.items.map((r: { id: string }) => r.id)).toEqual([all[0].id]);
  });

  it('records nothing for a change that did not happen or rolled back, and once for an idempotent replay', async () => {
    const alias = await createdCode(api, { url: 'https://example.com/same', alias: uniqueAlias('same') });
    const attempts = [
      await api.http().patch(`/api/v1/links/${alias}`).set('authorization', api.adminAuth).send({}),
      await api.http().patch(`/api/v1/links/${alias}`).set('authorization', api.adminAuth).send({ url: 'javascript:alert(1)' }),
      await createLink(api, { url: 'https://example.com/taken', alias }),
    ];
    expect(attempts.map((r) => r.status)).toEqual([200, 400, 409]);
    expect((await trail(alias)).body.items.map((r: { action: string }) => r.action)).toEqual(['create']);

    const replayed = uniqueAlias('idem');
    const send = () =>
      api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('idempotency-key', replayed)
        .send({ url: 'https://example.com/once', alias: replayed });
    expect([(await send()).status, (await send()).headers['idempotent-replayed']]).toEqual([201, 'true']);
    expect((await trail(replayed)).body.items.map((r: { action: string }) => r.action)).toEqual(['create']);

    expect((await api.http().delete(`/api/v1/links/${alias}`).set('authorization', api.adminAuth)).status).toBe(204);
    expect((await api.http().delete(`/api/v1/links/${alias}`).set('authorization', api.adminAuth)).status).toBe(204);
    expect((await trail(alias)).body.items.map((r: { action: string }) => r.action)).toEqual(['delete', 'create']);
  });

  it('records a create as auditedState of the stored row: with and without an Idempotency-Key, and in a bulk', async () => {
    const body = {
      url: 'https://example.com/exact',
      title: 'Exact',
      tags: ['b', 'a', 'b'],
      redirectType: 307,
      forwardQuery: false,
      maxClicks: 7,
      expiresAt: '2099-03-04T05:06:07.891+02:00',
    };
    const plain = await createLink(api, { ...body, alias: uniqueAlias('exact') });
    const keyed = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .set('idempotency-key', uniqueAlias('exact-key'))
      .send({ ...body, alias: uniqueAlias('exact') });
    const generated = await createLink(api, body);
    const bulk = await api
      .http()
      .post('/api/v1/links/bulk')
      .set('authorization', api.adminAuth)
      .send({ items: [body] });
    expect([plain.status, keyed.status, generated.status, bulk.status, bulk.body.results[0].status]).toEqual([201, 201, 201, 200, 201]);
    for (const created of [plain, keyed, generated, { body: bulk.body.results[0].link }]) {
      const [record] = (await trail(created.body.code)).body.items;
      const [row] = await db.query(`SELECT * FROM links WHERE domain = 'short.example' AND code = $1`, [created.body.code]);
      const stored = {
        target: row.target,
        title: row.title,
        tags: row.tags,
        redirectType: row.redirect_type,
        forwardQuery: row.forward_query,
        expiresAt: row.expires_at,
        maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
        disabledAt: row.disabled_at,
        deletedAt: row.deleted_at,
      };
      expect(record.after).toEqual(auditedState(stored));
      expect(record.after).toEqual({
        url: 'https://example.com/exact',
        title: 'Exact',
        tags: ['b', 'a'],
        redirectType: 307,
        forwardQuery: false,
        expiresAt: '2099-03-04T03:06:07.891Z',
        maxClicks: 7,
        disabledAt: null,
        deletedAt: null,
      });
      expect({ action: record.action, before: record.before, link: record.link.id }).toEqual({ action: 'create', before: null, link: String(row.id) });
      expect(await sameTransaction(record.link.id, record.id)).toBe(true);
    }
  });

  it('writes a created link and its audit record together or not at all', async () => {
    const alias = uniqueAlias('atomic');
    // The audit insert of this one alias fails (in this worker's own database): the link must not be left behind.
    await db.query(`ALTER TABLE link_audit ADD CONSTRAINT audit_test_refuses CHECK (code <> '${alias}') NOT VALID`);
    try {
      expect((await createLink(api, { url: 'https://example.com/atomic', alias })).status).toBe(500);
    } finally {
      await db.query('ALTER TABLE link_audit DROP CONSTRAINT audit_test_refuses');
    }
    expect((await db.query('SELECT count(*)::int AS n FROM links WHERE code = $1', [alias]))[0].n).toBe(0);
    expectProblem(await api.http().get(`/api/v1/links/${alias}`).set('authorization', api.adminAuth), 404, 'link-not-found');
    // The alias is free: the same create now succeeds, with its one record.
    expect((await createLink(api, { url: 'https://example.com/atomic', alias })).status).toBe(201);
    expect((await trail(alias)).body.items.map((r: { action: string }) => r.action)).toEqual(['create']);
  });

  it('batches the creates of one event-loop turn into one statement; each gets its own answer, and a refused one fails alone', async () => {
    const service = api.app.get(LinkService);
    const pool = api.app.get(PgPools).write;
    const principal = { ...admin, prefix: 'testadmin0001', role: 'admin' as const, rateLimitPerMinute: null };
    const [a, b, refused] = [uniqueAlias('batch'), uniqueAlias('batch'), uniqueAlias('batch-refused')];
    await db.query(`ALTER TABLE link_audit ADD CONSTRAINT audit_test_refuses_batch CHECK (code <> '${refused}') NOT VALID`);
    const statements: { name: string; creates: number }[] = [];
    const query = pool.query;
    pool.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as { name?: string; values?: unknown[] };
      if (config.name === 'shortener_create_links') statements.push({ name: config.name, creates: JSON.parse(String(config.values?.[0])).length });
      if (config.name === 'shortener_create_link') statements.push({ name: config.name, creates: 1 });
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.query;
    let outcomes: (string | number)[];
    try {
      const create = (body: Record<string, unknown>) =>
        service.create(principal, createLinkSchema.parse(body)).then(
          (r) => r.status,
          (e: Error) => (e instanceof DomainError ? e.code : e.message),
        );
      // One synchronous loop: all of them are waiting for the same batch.
      outcomes = await Promise.all([
        create({ url: 'https://example.com/batch/a', alias: a }),
        create({ url: 'https://example.com/batch/refused', alias: refused }),
        create({ url: 'https://example.com/batch/b', alias: b }),
        create({ url: 'https://example.com/batch/a-again', alias: a }),
      ]);
    } finally {
      pool.query = query;
      await db.query('ALTER TABLE link_audit DROP CONSTRAINT audit_test_refuses_batch');
    }
    expect(outcomes).toEqual([201, expect.stringContaining('audit_test_refuses_batch'), 201, 'alias-taken']);
    // The batch of three was refused as a whole (nothing of it written), then each ran alone; the second create of `a` waited for the first.
    expect(statements).toEqual([
      { name: 'shortener_create_links', creates: 3 },
      { name: 'shortener_create_link', creates: 1 },
      { name: 'shortener_create_link', creates: 1 },
      { name: 'shortener_create_link', creates: 1 },
      { name: 'shortener_create_link', creates: 1 },
    ]);
    const targets = await db.query(`SELECT code, target FROM links WHERE code = ANY($1) ORDER BY target`, [[a, b, refused]]);
    expect(targets).toEqual([
      { code: a, target: 'https://example.com/batch/a' },
      { code: b, target: 'https://example.com/batch/b' },
    ]);
    for (const code of [a, b])
      expect((await trail(code)).body.items.map((r: { action: string; after: { url: string } }) => [r.action, r.after.url])).toEqual([
        ['create', `https://example.com/batch/${code === a ? 'a' : 'b'}`],
      ]);
    expect((await trail(refused)).body.items).toEqual([]);
  });

  it('is for admins only, and refuses foreign cursors and unknown domains', async () => {
    const member = await mintKey(api, 'member');
    expectProblem(await api.http().get('/api/v1/audit').set('authorization', member.auth), 403, 'forbidden');
    expectProblem(await api.http().get('/api/v1/audit?cursor=bm90LWEtY3Vyc29y').set('authorization', api.adminAuth), 400, 'cursor-invalid');
    expectProblem(await api.http().get('/api/v1/audit?link=x&domain=other.example').set('authorization', api.adminAuth), 400, 'domain-unknown');
    expectProblem(await api.http().get('/api/v1/audit?limit=101').set('authorization', api.adminAuth), 400, 'validation-failed');
  });
});

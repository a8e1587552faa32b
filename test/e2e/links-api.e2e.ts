import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLink, createdCode, mintKey } from '../support/links';
import { expectProblem } from '../support/problem';

/** The links REST API (docs/design.md section 3) beyond the input cases (docs/cases.md). */
describe('links API', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  describe('create', () => {
    it('returns 201 with the link, a Location header and the shortUrl from the configured base URL, never the Host header', async () => {
      const alias = uniqueAlias('c');
      const res = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('host', 'evil.example')
        .send({
          url: 'https://example.com/a',
          alias,
          title: 'A',
          tags: ['x', 'y', 'x'],
          redirectType: 307,
          forwardQuery: false,
          maxClicks: 5,
          expiresAt: '2099-01-01T01:00:00+01:00',
        });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/api/v1/links/${alias}`);
      expect(res.body).toEqual({
        code: alias,
        domain: 'short.example',
        shortUrl: `https://short.example/${alias}`,
        url: 'https://example.com/a',
        alias: true,
        title: 'A',
        tags: ['x', 'y'],
        redirectType: 307,
        forwardQuery: false,
        expiresAt: '2099-01-01T00:00:00.000Z',
        maxClicks: 5,
        clicks: 0,
        state: 'active',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it('redirects a code probed before it existed right after the 201 (no stale negative cache entry)', async () => {
      const alias = uniqueAlias('probed');
      // Twice: the first miss fills Redis and the LRU with "no such link", the second is answered from them.
      expect([(await api.http().get(`/${alias}`)).status, (await api.http().get(`/${alias}`)).status]).toEqual([404, 404]);
      expect((await createLink(api, { url: 'https://example.com/probed', alias })).status).toBe(201);
      const visit = await api.http().get(`/${alias}`);
      expect({ status: visit.status, location: visit.headers.location }).toEqual({ status: 302, location: 'https://example.com/probed' });
    });

    it('generates 7-character base62 codes', async () => {
      const res = await createLink(api, { url: 'https://example.com/gen' });
      expect(res.status).toBe(201);
      expect(res.body.code).toMatch(/^[0-9A-Za-z]{7}$/);
      expect(res.body.alias).toBe(false);
    });

    it.each([
      [{ url: 'https://example.com/', expiresAt: '2099-01-01T00:00:00' }, 'validation-failed'],
      [{ url: 'https://example.com/', expiresAt: 'tomorrow' }, 'validation-failed'],
      [{ url: 'https://example.com/', expiresAt: '2001-01-01T00:00:00Z' }, 'expires-at-past'],
      [{ url: 'https://example.com/', redirectType: 303 }, 'validation-failed'],
      [{ url: 'https://example.com/', maxClicks: 0 }, 'validation-failed'],
      [{ url: 'https://example.com/', unknown: 1 }, 'validation-failed'],
      [{ url: 'https://example.com/', domain: 'other.example' }, 'domain-unknown'],
      [{ url: 42 }, 'validation-failed'],
      [{}, 'validation-failed'],
    ])('refuses %j with a 400 problem %s', async (body, code) => {
      expectProblem(await createLink(api, body), 400, code);
    });
  });

  describe('authentication and roles', () => {
    it('refuses missing, malformed and unknown keys with 401 naming the Bearer scheme', async () => {
      const missing = await api.http().get('/api/v1/links');
      expectProblem(missing, 401, 'unauthenticated');
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="shortener"');
      expectProblem(await api.http().get('/api/v1/links').set('authorization', 'Basic abc'), 401, 'unauthenticated');
      expectProblem(
        await api.http().get('/api/v1/links').set('authorization', 'Bearer sk_unknownkey01_0123456789abcdefghijklmnopqrstuv'),
        401,
        'unauthenticated',
      );
    });

    it('lets a read-only key read its account but not write (403)', async () => {
      const member = await mintKey(api, 'member');
      const reader = await mintKey(api, 'read_only', member.accountId);
      const code = await createdCode(api, { url: 'https://example.com/ro', alias: uniqueAlias('ro') }, member.auth);
      expect((await api.http().get(`/api/v1/links/${code}`).set('authorization', reader.auth)).status).toBe(200);
      expectProblem(await createLink(api, { url: 'https://example.com/' }, reader.auth), 403, 'forbidden');
      expectProblem(await api.http().patch(`/api/v1/links/${code}`).set('authorization', reader.auth).send({ title: 'x' }), 403, 'forbidden');
      expectProblem(await api.http().delete(`/api/v1/links/${code}`).set('authorization', reader.auth), 403, 'forbidden');
    });

    it("hides another account's links from a member (404) but not from an admin", async () => {
      const a = await mintKey(api, 'member');
      const b = await mintKey(api, 'member');
      const code = await createdCode(api, { url: 'https://example.com/mine', alias: uniqueAlias('mine') }, a.auth);
      expectProblem(await api.http().get(`/api/v1/links/${code}`).set('authorization', b.auth), 404, 'link-not-found');
      expectProblem(await api.http().patch(`/api/v1/links/${code}`).set('authorization', b.auth).send({ title: 'x' }), 404, 'link-not-found');
      expectProblem(await api.http().delete(`/api/v1/links/${code}`).set('authorization', b.auth), 404, 'link-not-found');
      expect((await api.http().get(`/api/v1/links/${code}`).set('authorization', api.adminAuth)).status).toBe(200);
      const listed = await api.http().get('/api/v1/links?limit=100').set('authorization', b.auth);
      expect(listed.body.items.map((l: { code: string }) => l.code)).not.toContain(code);
    });

    it('keeps links when a key is rotated: a new key of the account sees them, the revoked one is refused at once', async () => {
      const first = await mintKey(api, 'member');
      const code = await createdCode(api, { url: 'https://example.com/rot', alias: uniqueAlias('rot') }, first.auth);
      const second = await mintKey(api, 'member', first.accountId);
      const revoked = await api.http().delete(`/api/v1/api-keys/${first.id}`).set('authorization', api.adminAuth);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).toEqual(expect.any(String));
      expectProblem(await api.http().get(`/api/v1/links/${code}`).set('authorization', first.auth), 401, 'unauthenticated');
      expect((await api.http().get(`/api/v1/links/${code}`).set('authorization', second.auth)).body.url).toBe('https://example.com/rot');
    });

    it('lets only admins manage API keys, and never shows a secret after minting', async () => {
      const member = await mintKey(api, 'member');
      expectProblem(await api.http().get('/api/v1/api-keys').set('authorization', member.auth), 403, 'forbidden');
      const list = await api.http().get('/api/v1/api-keys').set('authorization', api.adminAuth);
      expect(list.status).toBe(200);
      const mine = list.body.items.find((k: { id: string }) => k.id === member.id);
      expect(Object.keys(mine).sort()).toEqual(['accountId', 'createdAt', 'id', 'name', 'prefix', 'rateLimitPerMinute', 'revokedAt', 'role']);
    });
  });

  describe('read, update, delete', () => {
    it('applies a JSON Merge Patch: absent members stay, null clears', async () => {
      const code = await createdCode(api, {
        url: 'https://example.com/p',
        alias: uniqueAlias('mp'),
        title: 'T',
        tags: ['a'],
        maxClicks: 9,
        expiresAt: '2099-01-01T00:00:00Z',
        redirectType: 301,
      });
      const patched = await api
        .http()
        .patch(`/api/v1/links/${code}`)
        .set('authorization', api.adminAuth)
        .set('content-type', 'application/merge-patch+json')
        .send(JSON.stringify({ title: null, maxClicks: null, expiresAt: null, tags: ['b', 'c'] }));
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ url: 'https://example.com/p', title: null, maxClicks: null, expiresAt: null, tags: ['b', 'c'], redirectType: 301 });
      const reset = await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).send({ redirectType: null, tags: null });
      expect(reset.body).toMatchObject({ redirectType: 302, tags: [], title: null });
    });

    it('refuses a PATCH that changes the code or has unknown members', async () => {
      const code = await createdCode(api, { url: 'https://example.com/p', alias: uniqueAlias('np') });
      expectProblem(await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).send({ alias: 'other' }), 400, 'validation-failed');
    });

    it('deletes: the link reads as deleted, answers 410, cannot be patched, and deleting again is fine', async () => {
      const code = await createdCode(api, { url: 'https://example.com/d', alias: uniqueAlias('del') });
      expect((await api.http().delete(`/api/v1/links/${code}`).set('authorization', api.adminAuth)).status).toBe(204);
      expect((await api.http().delete(`/api/v1/links/${code}`).set('authorization', api.adminAuth)).status).toBe(204);
      expect((await api.http().get(`/api/v1/links/${code}`).set('authorization', api.adminAuth)).body.state).toBe('deleted');
      expect((await api.http().get(`/${code}`)).status).toBe(410);
      expectProblem(await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).send({ title: 'x' }), 410, 'link-gone');
    });

    it('deletes with a Content-Type header and no body', async () => {
      const code = await createdCode(api, { url: 'https://example.com/ct', alias: uniqueAlias('ct') });
      expect((await api.http().delete(`/api/v1/links/${code}`).set('authorization', api.adminAuth).set('content-type', 'application/json')).status).toBe(204);
      expectProblem(
        await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('content-type', 'application/json'),
        400,
        'validation-failed',
      );
    });

    it('lists exhausted links by state', async () => {
      const member = await mintKey(api, 'member');
      const code = await createdCode(api, { url: 'https://example.com/ex', alias: uniqueAlias('ex'), maxClicks: 1 }, member.auth);
      await api.http().get(`/${code}`);
      const exhausted = await api.http().get('/api/v1/links?state=exhausted').set('authorization', member.auth);
      expect(exhausted.body.items.map((l: { code: string; state: string }) => [l.code, l.state])).toEqual([[code, 'exhausted']]);
      expect((await api.http().get('/api/v1/links?state=active').set('authorization', member.auth)).body.items).toEqual([]);
    });

    it('disables and re-enables a link: 410 while disabled, listed and audited as disabled, 302 again after', async () => {
      const member = await mintKey(api, 'member');
      const code = await createdCode(api, { url: 'https://example.com/dis', alias: uniqueAlias('dis') }, member.auth);
      const patch = (body: object) => api.http().patch(`/api/v1/links/${code}`).set('authorization', member.auth).send(body);
      expect((await api.http().get(`/${code}`)).status).toBe(302);
      const off = await patch({ disabled: true });
      expect([off.status, off.body.state]).toEqual([200, 'disabled']);
      expectProblem(await api.http().get(`/${code}`), 410, 'link-gone');
      expect((await patch({ disabled: true })).body.state).toBe('disabled');
      const listed = await api.http().get('/api/v1/links?state=disabled').set('authorization', member.auth);
      expect(listed.body.items.map((l: { code: string; state: string }) => [l.code, l.state])).toEqual([[code, 'disabled']]);
      const on = await patch({ disabled: null });
      expect([on.status, on.body.state]).toEqual([200, 'active']);
      expect((await api.http().get(`/${code}`)).status).toBe(302);
      expectProblem(await patch({ disabled: 'yes' }), 400, 'validation-failed');
      // The audit trail shows the two changes of disabledAt (and nothing for the repeated disable).
      const audit = await api
        .http()
        .get(`/api/v1/audit?link=${encodeURIComponent(code)}`)
        .set('authorization', api.adminAuth);
      const changes = audit.body.items
        .filter((e: { action: string }) => e.action === 'update')
        .map((e: { before: { disabledAt: string | null }; after: { disabledAt: string | null } }) => [
          e.before.disabledAt === null,
          e.after.disabledAt === null,
        ]);
      expect(changes.sort()).toEqual(
        [
          [false, true],
          [true, false],
        ].sort(),
      );
    });

    it('answers a method a path is not served with 405 and Allow (RFC 9110), an unserved path 404', async () => {
      const code = await createdCode(api, { url: 'https://example.com/m405', alias: uniqueAlias('m405') });
      const cases: [string, string, string][] = [
        ['put', `/api/v1/links/${code}`, 'DELETE, GET, HEAD, PATCH'],
        ['delete', '/api/v1/links', 'GET, HEAD, POST'],
        ['post', `/${code}`, 'GET, HEAD'],
        ['delete', '/api/v1/api-keys', 'GET, HEAD, POST'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await (api.http() as any)[method](path).set('authorization', api.adminAuth);
        expect({ path, method, allow: res.headers.allow }).toEqual({ path, method, allow });
        expectProblem(res, 405, 'method-not-allowed');
        expect(res.body.detail).toBe(`${method.toUpperCase()} is not served at this path; allowed: ${allow}`);
      }
      const unserved = await api.http().post('/no/such/route').set('authorization', api.adminAuth);
      expect(unserved.headers.allow).toBeUndefined();
      expectProblem(unserved, 404, 'not-found');
      // The link was not touched by any of them.
      expect((await api.http().get(`/${code}`)).status).toBe(302);
    });

    it('answers 404 for an unknown code', async () => {
      expectProblem(await api.http().get('/api/v1/links/nope-nope').set('authorization', api.adminAuth), 404, 'link-not-found');
    });
  });

  describe('list', () => {
    it('pages newest first with an opaque cursor and filters by tag, state and text', async () => {
      const member = await mintKey(api, 'member');
      const tag = uniqueAlias('tag');
      const codes: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        codes.push(
          await createdCode(
            api,
            { url: `https://example.com/list/${i}`, alias: uniqueAlias('l'), tags: [tag], title: i === 3 ? 'Needle in title' : null },
            member.auth,
          ),
        );
      }
      await api.http().delete(`/api/v1/links/${codes[0]}`).set('authorization', member.auth);
      const page1 = await api.http().get(`/api/v1/links?limit=2&tag=${tag}`).set('authorization', member.auth);
      expect(page1.body.items.map((l: { code: string }) => l.code)).toEqual([codes[4], codes[3]]);
      const page2 = await api.http().get(`/api/v1/links?limit=2&tag=${tag}&cursor=${page1.body.nextCursor}`).set('authorization', member.auth);
      expect(page2.body.items.map((l: { code: string }) => l.code)).toEqual([codes[2], codes[1]]);
      const page3 = await api.http().get(`/api/v1/links?limit=2&tag=${tag}&cursor=${page2.body.nextCursor}`).set('authorization', member.auth);
      expect(page3.body).toEqual({ items: [expect.objectContaining({ code: codes[0] })], nextCursor: null });
      const active = await api.http().get(`/api/v1/links?tag=${tag}&state=active`).set('authorization', member.auth);
      expect(active.body.items).toHaveLength(4);
      const deleted = await api.http().get(`/api/v1/links?tag=${tag}&state=deleted`).set('authorization', member.auth);
      expect(deleted.body.items.map((l: { code: string }) => l.code)).toEqual([codes[0]]);
      const text = await api
        .http()
        .get(`/api/v1/links?q=${encodeURIComponent('needle IN')}`)
        .set('authorization', member.auth);
      expect(text.body.items.map((l: { code: string }) => l.code)).toEqual([codes[3]]);
      const byUrl = await api
        .http()
        .get(`/api/v1/links?q=${encodeURIComponent('/list/2')}`)
        .set('authorization', member.auth);
      expect(byUrl.body.items.map((l: { code: string }) => l.code)).toEqual([codes[2]]);
    });

    it('refuses a bad cursor or limit with 400', async () => {
      expectProblem(await api.http().get('/api/v1/links?cursor=garbage').set('authorization', api.adminAuth), 400, 'cursor-invalid');
      expectProblem(await api.http().get('/api/v1/links?limit=101').set('authorization', api.adminAuth), 400, 'validation-failed');
      expectProblem(await api.http().get('/api/v1/links?state=weird').set('authorization', api.adminAuth), 400, 'validation-failed');
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the original status and body, and creates one link', async () => {
      const key = uniqueAlias('idem');
      const body = { url: 'https://example.com/idem', tags: ['a'] };
      const first = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('idempotency-key', key).send(body);
      const again = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('idempotency-key', key)
        .send({ tags: ['a'], url: 'https://example.com/idem' });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      // Byte for byte: the stored text, not the jsonb copy (which reorders the members).
      expect(again.text).toBe(first.text);
      expect(again.headers['idempotent-replayed']).toBe('true');
    });

    it('replays a response stored before schema 4 (jsonb only) with the same members', async () => {
      const key = uniqueAlias('idem-old');
      const body = { url: 'https://example.com/idem-old', tags: ['a'] };
      const first = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('idempotency-key', key).send(body);
      const db = new Client({ connectionString: api.config.db.url });
      await db.connect();
      try {
        // What a row written by code of schema version 3 looks like.
        expect((await db.query('UPDATE idempotency_keys SET response_text = NULL WHERE key = $1', [key])).rowCount).toBe(1);
      } finally {
        await db.end();
      }
      const again = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('idempotency-key', key).send(body);
      expect([again.status, again.body, again.headers['idempotent-replayed']]).toEqual([201, first.body, 'true']);
    });

    it('replays a stored error too', async () => {
      const key = uniqueAlias('idem-err');
      const alias = uniqueAlias('taken');
      await createdCode(api, { url: 'https://example.com/1', alias });
      const first = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('idempotency-key', key)
        .send({ url: 'https://example.com/2', alias });
      expectProblem(first, 409, 'alias-taken');
      const again = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('idempotency-key', key)
        .send({ url: 'https://example.com/2', alias });
      expect([again.status, again.text]).toEqual([409, first.text]);
    });

    it('refuses the same key with a different body (422)', async () => {
      const key = uniqueAlias('idem2');
      await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('idempotency-key', key).send({ url: 'https://example.com/x' });
      const other = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', api.adminAuth)
        .set('idempotency-key', key)
        .send({ url: 'https://example.com/y' });
      expectProblem(other, 422, 'idempotency-key-reused');
    });

    it('answers 409 while the first request with the key is in flight', async () => {
      const member = await mintKey(api, 'member');
      const key = uniqueAlias('idem3');
      // Hold the key's lock as a first request still running would.
      const db = new Client({ connectionString: api.config.db.url });
      await db.connect();
      try {
        await db.query('BEGIN');
        await db.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [member.accountId, key]);
        const second = await api
          .http()
          .post('/api/v1/links')
          .set('authorization', member.auth)
          .set('idempotency-key', key)
          .send({ url: 'https://example.com/slow' });
        expectProblem(second, 409, 'idempotency-key-in-flight');
      } finally {
        await db.query('ROLLBACK');
        await db.end();
      }
      const after = await api
        .http()
        .post('/api/v1/links')
        .set('authorization', member.auth)
        .set('idempotency-key', key)
        .send({ url: 'https://example.com/slow' });
      expect(after.status).toBe(201);
    });

    it('scopes keys to the account', async () => {
      const key = uniqueAlias('idem4');
      const other = await mintKey(api, 'member');
      const a = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('idempotency-key', key).send({ url: 'https://example.com/a' });
      const b = await api.http().post('/api/v1/links').set('authorization', other.auth).set('idempotency-key', key).send({ url: 'https://example.com/b' });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.code).not.toBe(b.body.code);
    });
  });
});

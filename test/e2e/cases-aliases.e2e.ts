import { ShortCodeGenerator } from '@shortener/links';
import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLink, createdCode, mintKey, pathOf } from '../support/links';
import { expectProblem } from '../support/problem';

/** docs/cases.md C13-C17: aliases. */
describe('aliases (docs/cases.md C13-C17)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it.each(['구글', 'käthe', 'مرحبا', 'Ωmega_1-2'])('C13: Unicode alias %j is created and reachable through its percent-encoded path', async (word) => {
    const alias = `${word}${uniqueAlias('u').replace(/-/g, '_')}`;
    const res = await createLink(api, { url: 'https://example.com/unicode', alias });
    expect(res.status).toBe(201);
    expect(res.body.shortUrl).toBe(`https://short.example/${encodeURIComponent(alias)}`);
    const visit = await api.http().get(pathOf(alias));
    expect(visit.status).toBe(302);
    expect(visit.headers.location).toBe('https://example.com/unicode');
  });

  it('C13: NFC and NFD spellings of an alias are the same alias', async () => {
    const nfd = `Ka\u0308the${uniqueAlias('n').replace(/-/g, '_')}`;
    const res = await createLink(api, { url: 'https://example.com/nfc', alias: nfd });
    expect(res.status).toBe(201);
    expect(res.body.code).toBe(nfd.normalize('NFC'));
    expect((await api.http().get(pathOf(nfd))).headers.location).toBe('https://example.com/nfc');
    expect((await api.http().get(pathOf(nfd.normalize('NFC')))).headers.location).toBe('https://example.com/nfc');
  });

  it.each(['😀', 'a b', 'a/b', 'a?b', 'a#b', 'a%20b', 'a.b', 'a:b', 'a@b', '', 'x'.repeat(65)])(
    'C13 kind: alias %j is refused naming the alphabet',
    async (alias) => {
      const res = await createLink(api, { url: 'https://example.com/', alias });
      expect(res.status).toBe(400);
      if (alias !== '') {
        expectProblem(res, 400, 'alias-invalid');
        expect(res.body.detail).toMatch(/letters/i);
      }
    },
  );

  it.each(['api', 'API', 'Api', 'health', 'metrics', 'docs', 'favicon.ico', 'robots.txt', 'openapi'])('C14: reserved alias %j is refused', async (alias) => {
    expectProblem(await createLink(api, { url: 'https://example.com/', alias }), 400, 'alias-reserved');
  });

  it('C14: the real routes keep working', async () => {
    expect((await api.http().get('/api/openapi.json')).status).toBe(200);
    expect((await api.http().get('/api/docs')).status).toBe(200);
    expect((await api.http().get('/api/v1/links').set('authorization', api.adminAuth)).status).toBe(200);
  });

  it("C15: a second account cannot take an alias; the redirect keeps the first account's target", async () => {
    const a = await mintKey(api, 'member');
    const b = await mintKey(api, 'member');
    const alias = uniqueAlias('sale');
    expect((await createLink(api, { url: 'https://a.example/sale', alias }, a.auth)).status).toBe(201);
    const second = await createLink(api, { url: 'https://b.example/sale', alias }, b.auth);
    expectProblem(second, 409, 'alias-taken');
    expect((await api.http().get(`/${alias}`)).headers.location).toBe('https://a.example/sale');
  });

  it('C15 kind: a deleted alias stays reserved: never handed to another account, nor re-created', async () => {
    const a = await mintKey(api, 'member');
    const b = await mintKey(api, 'member');
    const alias = uniqueAlias('keep');
    await createdCode(api, { url: 'https://a.example/1', alias }, a.auth);
    expect((await api.http().delete(`/api/v1/links/${alias}`).set('authorization', a.auth)).status).toBe(204);
    expectProblem(await createLink(api, { url: 'https://b.example/1', alias }, b.auth), 409, 'alias-taken');
    expect((await api.http().get(`/${alias}`)).status).toBe(410);
    expectProblem(await createLink(api, { url: 'https://a.example/2', alias }, a.auth), 409, 'alias-taken');
    expect((await api.http().get(`/${alias}`)).status).toBe(410);
    expect((await api.http().get(`/api/v1/links/${alias}`).set('authorization', a.auth)).body.state).toBe('deleted');
  });

  it('C16: 20 simultaneous creates of one alias give exactly one 201 and nineteen 409', async () => {
    const alias = uniqueAlias('race1');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => createLink(api, { url: `https://example.com/race/${i}`, alias })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const winner = results.find((r) => r.status === 201)!;
    expect((await api.http().get(`/${alias}`)).headers.location).toBe(winner.body.url);
  });

  it('C17: aliases equal to the next generated codes do not break generation', async () => {
    // A process hands out sequence values from a block it reserved: a fresh one's first block starts at the sequence's next value.
    const fresh = await startTestApi();
    try {
      const db = new Client({ connectionString: api.config.db.url });
      await db.connect();
      const { rows } = await db.query<{ last_value: string; is_called: boolean }>('SELECT last_value::text, is_called FROM link_code_seq');
      await db.end();
      const next = rows[0].is_called ? BigInt(rows[0].last_value) + 1n : BigInt(rows[0].last_value);
      const generator = new ShortCodeGenerator(api.config.links.codePermutationKey);
      const upcoming = [generator.codeFor(next), generator.codeFor(next + 1n)];
      for (const alias of upcoming) expect((await createLink(fresh, { url: 'https://example.com/alias-first', alias })).status).toBe(201);
      const generated = await createLink(fresh, { url: 'https://example.com/generated' });
      expect(generated.status).toBe(201);
      expect(generated.body.code).toBe(generator.codeFor(next + 2n));
      for (const alias of upcoming) expect((await api.http().get(`/${alias}`)).headers.location).toBe('https://example.com/alias-first');
      expect((await api.http().get(`/${generated.body.code}`)).headers.location).toBe('https://example.com/generated');
    } finally {
      await fresh.close();
    }
  });
});

import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createdCode } from '../support/links';
import { expectProblem } from '../support/problem';

describe('bulk create and QR codes', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const bulk = (body: unknown, key?: string) => {
    const req = api.http().post('/api/v1/links/bulk').set('authorization', api.adminAuth);
    return (key ? req.set('idempotency-key', key) : req).send(body as object);
  };

  it('creates independent items: a refused item never undoes the others', async () => {
    const taken = uniqueAlias('taken');
    await createdCode(api, { url: 'https://example.com/first', alias: taken });
    const ok = uniqueAlias('ok');
    const res = await bulk({
      items: [
        { url: 'https://example.com/1', alias: ok },
        { url: 'javascript:alert(1)' },
        { url: 'https://example.com/2', alias: taken },
        { url: 'https://example.com/3' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 400, 409, 201]);
    expect(res.body.results[1].problem.type).toBe('urn:shortener:problem:target-scheme-not-allowed');
    expect(res.body.results[2].problem.type).toBe('urn:shortener:problem:alias-taken');
    expect((await api.http().get(`/${ok}`)).headers.location).toBe('https://example.com/1');
    expect((await api.http().get(`/${res.body.results[3].link.code}`)).headers.location).toBe('https://example.com/3');
    expect((await api.http().get(`/${taken}`)).headers.location).toBe('https://example.com/first');
  });

  it('gives an alias asked for twice in one request to the first item, each link with one audit record', async () => {
    const alias = uniqueAlias('twice');
    const res = await bulk({
      items: [{ url: 'https://example.com/one', alias }, { url: 'https://example.com/gen' }, { url: 'https://example.com/two', alias }],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 201, 409]);
    expect(res.body.results[2].problem).toMatchObject({ type: 'urn:shortener:problem:alias-taken', alias });
    expect((await api.http().get(`/${alias}`)).headers.location).toBe('https://example.com/one');
    const audit = await api.http().get(`/api/v1/audit?link=${alias}&limit=50`).set('authorization', api.adminAuth);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['create']);
  });

  it('takes 1,000 maximum-length URLs in one request and refuses 1,001 items', async () => {
    const url = `https://example.com/p?d=${'a'.repeat(8192 - 'https://example.com/p?d='.length)}`;
    const res = await bulk({ items: Array.from({ length: 1000 }, () => ({ url })) });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1000);
    expect(res.body.results.every((r: { status: number; link: { url: string } }) => r.status === 201 && r.link.url === url)).toBe(true);
    expectProblem(await bulk({ items: Array.from({ length: 1001 }, () => ({ url: 'https://example.com/' })) }), 400, 'validation-failed');
  });

  it('replays a bulk request with the same Idempotency-Key', async () => {
    const key = uniqueAlias('bulk-idem');
    const body = { items: [{ url: 'https://example.com/a' }, { url: 'https://example.com/b' }] };
    const first = await bulk(body, key);
    const again = await bulk(body, key);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('renders a PNG and an SVG QR code of the short URL', async () => {
    const code = await createdCode(api, { url: 'https://example.com/qr', alias: uniqueAlias('qr') });
    const png = await api
      .http()
      .get(`/api/v1/links/${code}/qr`)
      .set('authorization', api.adminAuth)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          cb(null, Buffer.concat(chunks));
        });
      });
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect((png.body as Buffer).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const svg = await api.http().get(`/api/v1/links/${code}/qr?format=svg&size=256`).set('authorization', api.adminAuth);
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.text ?? String(svg.body)).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="256" height="256"/);
    expectProblem(await api.http().get('/api/v1/links/none-such/qr').set('authorization', api.adminAuth), 404, 'link-not-found');
    expectProblem(await api.http().get(`/api/v1/links/${code}/qr?format=gif`).set('authorization', api.adminAuth), 400, 'validation-failed');
  });
});

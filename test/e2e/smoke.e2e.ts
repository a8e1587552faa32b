import { expectProblem } from '../support/problem';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';

describe('API smoke', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('creates a link and redirects to it', async () => {
    const alias = uniqueAlias('smoke');
    const created = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).send({ url: 'https://example.com/x?a=1', alias });
    expect(created.status).toBe(201);
    expect(created.body.shortUrl).toBe(`https://short.example/${alias}`);
    const res = await api.http().get(`/${alias}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://example.com/x?a=1');
    expect(res.headers['cache-control']).toBe('private, no-store');
  });
});

describe('API errors', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('answers malformed JSON with a problem', async () => {
    const res = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('content-type', 'application/json').send('{"url":');
    expectProblem(res, 400, 'malformed-json');
  });

  it('answers a body that is not valid UTF-8 with malformed-json, saying so', async () => {
    const payload = Buffer.concat([Buffer.from('{"url":"https://example.com/'), Buffer.from([0xff]), Buffer.from('"}')]);
    // Fastify's inject sends the bytes as they are (supertest would JSON-encode a Buffer).
    const res = await api.app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'POST',
        url: '/api/v1/links',
        headers: { authorization: api.adminAuth, 'content-type': 'application/json' },
        payload,
      });
    expect([res.statusCode, res.headers['content-type'], res.json()]).toEqual([
      400,
      'application/problem+json; charset=utf-8',
      {
        type: 'urn:shortener:problem:malformed-json',
        title: 'The request body is not valid JSON',
        status: 400,
        detail: 'The body is not valid UTF-8, or its length does not match Content-Length',
      },
    ]);
  });

  it('refuses a __proto__ key as validation-failed, saying why (the JSON itself is valid)', async () => {
    const res = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .set('content-type', 'application/json')
      .send('{"url":"https://example.com/p","__proto__":{"admin":true}}');
    expectProblem(res, 400, 'validation-failed');
    expect(res.body.detail).toBe('Object keys named "__proto__", and "constructor" holding "prototype", are not accepted');
  });

  it('answers an unknown route with a problem', async () => {
    const res = await api.http().get('/api/v1/nothing').set('authorization', api.adminAuth);
    expectProblem(res, 404, 'not-found');
  });
});

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

  it('answers an unknown route with a problem', async () => {
    const res = await api.http().get('/api/v1/nothing').set('authorization', api.adminAuth);
    expectProblem(res, 404, 'not-found');
  });
});

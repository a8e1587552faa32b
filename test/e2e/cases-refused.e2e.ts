import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLink, createdCode } from '../support/links';
import { expectProblem } from '../support/problem';

/** docs/cases.md C10-C12: refused targets are a 400 problem and nothing is stored. */
describe('refused targets (docs/cases.md C10-C12)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  async function expectRefused(url: string, code: string) {
    const alias = uniqueAlias('r');
    const res = await createLink(api, { url, alias });
    expectProblem(res, 400, code);
    expect((await api.http().get(`/${alias}`)).status).toBe(404);
    return res;
  }

  it.each(['example.com/path', '//example.com/path', '/local/path', 'relative', '', '   ', 'https://', 'http://exa mple.com/'])(
    'C10: %j without an absolute http(s) URL is refused',
    async (url) => {
      const res = await createLink(api, { url, alias: uniqueAlias('r') });
      expect(res.status).toBe(400);
      expect(['urn:shortener:problem:target-invalid', 'urn:shortener:problem:validation-failed']).toContain(res.body.type);
    },
  );

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'data:text/html,<b>x</b>',
    'file:///etc/hosts',
    'vbscript:msgbox(1)',
    'ftp://example.com/x',
    'ws://example.com/',
  ])('C11: %j is refused, naming the allowed schemes', async (url) => {
    const res = await expectRefused(url, 'target-scheme-not-allowed');
    expect(res.body.detail).toMatch(/http.*https/);
  });

  it.each(['java\tscript:alert(1)', 'https://exa\nmple.com/', 'https://example.com/\u0000x', 'https://example.com/a\u007f'])(
    'C11 kind: %j with a control character is refused',
    async (url) => {
      await expectRefused(url, 'target-control-character');
    },
  );

  it.each(['https://user:pass@example.com/', 'https://user@example.com/', 'http://:pw@example.com/'])('credentials in %j are refused', async (url) => {
    await expectRefused(url, 'target-has-credentials');
  });

  it.each([
    'https://short.example/a1',
    'https://SHORT.example/a1',
    'https://short.example:443/a1',
    'http://short.example/a1/',
    'https://short.example./a1',
    'https://short.example:8443/a1',
  ])('C12: %j points at the shortener itself and is refused', async (url) => {
    await expectRefused(url, 'target-host-not-allowed');
  });

  it('C12: the same hosts are refused through PATCH and the link keeps its target', async () => {
    const code = await createdCode(api, { url: 'https://example.com/ok', alias: uniqueAlias('p') });
    for (const url of ['https://short.example/a1', 'https://SHORT.example/a1', 'https://short.example:443/a1', 'http://short.example/a1/']) {
      const res = await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).send({ url });
      expectProblem(res, 400, 'target-host-not-allowed');
    }
    expect((await api.http().get(`/${code}`)).headers.location).toBe('https://example.com/ok');
  });
});

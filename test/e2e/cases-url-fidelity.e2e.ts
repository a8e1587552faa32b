import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLink, createdCode } from '../support/links';
import { expectProblem } from '../support/problem';

/** docs/cases.md C01-C09: the Location header is the stored target, unchanged. */
describe('URL fidelity (docs/cases.md C01-C09)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  async function locationOf(target: string, query = ''): Promise<string> {
    const code = await createdCode(api, { url: target, alias: uniqueAlias('f') });
    const res = await api.http().get(`/${code}${query}`);
    expect(res.status).toBe(302);
    return res.headers.location;
  }

  it.each([
    ['C01', 'https://example.com/search?q=a+b&tag=c%2Bd'],
    ['C02', 'https://example.com/t?e=ab%2Bcd%2Fef%3D&referrer=utm_source%3Dx%26utm_medium%3Dy'],
    ['C03', 'https://example.com/sim.html?cct=%24+1+5%0Ar+2+3%0Aw+4+6%0A'],
    ['C04 fragment', 'https://example.com/?abc#123'],
    ['C04 valueless, empty, repeated keys', 'https://example.com/p?flag&empty=&a=1&a=2'],
  ])('%s: Location is exactly the input', async (_id, target) => {
    const location = await locationOf(target);
    expect(location).toBe(target);
    expect(location).not.toContain('%25');
  });

  it('C05: forwarded query parameters go before the fragment', async () => {
    expect(await locationOf('https://example.com/map/?id=287#!ct/125?z/17', '?utm_source=x')).toBe('https://example.com/map/?id=287&utm_source=x#!ct/125?z/17');
  });

  it('C05 kind: a target without a query gets "?", raw bytes are percent-encoded, an opted-out link forwards nothing', async () => {
    expect(await locationOf('https://example.com/a#f', '?x=%41+b')).toBe('https://example.com/a?x=%41+b#f');
    const code = await createdCode(api, { url: 'https://example.com/q?k=1', alias: uniqueAlias('nf'), forwardQuery: false });
    const res = await api.http().get(`/${code}?utm=1`);
    expect(res.headers.location).toBe('https://example.com/q?k=1');
  });

  it.each([
    ['C06 spaces', ' https://example.com/ ', 'https://example.com/'],
    ['C06 tab', 'https://example.com/page\t', 'https://example.com/page'],
    ['C06 newline', '\nhttps://example.com/page\r\n', 'https://example.com/page'],
  ])('%s: surrounding whitespace is trimmed', async (_id, input, stored) => {
    const res = await createLink(api, { url: input, alias: uniqueAlias('ws') });
    expect(res.status).toBe(201);
    expect(res.body.url).toBe(stored);
    expect((await api.http().get(`/${res.body.code}`)).headers.location).toBe(stored);
  });

  it.each([
    ['C07 raw', 'https://example.com/artists/käthe-kollwitz/', 'https://example.com/artists/k%C3%A4the-kollwitz/'],
    ['C07 pre-encoded', 'https://example.com/artists/k%C3%A4the-kollwitz/', 'https://example.com/artists/k%C3%A4the-kollwitz/'],
    ['C07 Arabic', 'https://example.com/wiki/مرحبا', 'https://example.com/wiki/%D9%85%D8%B1%D8%AD%D8%A8%D8%A7'],
    ['C08 IDN', 'https://bücher.example/straße?x=ü', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC'],
    ['C08 A-label', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC'],
  ])('%s: stored and served as the WHATWG serialization, pure ASCII', async (_id, input, expected) => {
    const location = await locationOf(input);
    expect(location).toBe(expected);
    expect(/^[\x21-\x7e]+$/.test(location)).toBe(true);
  });

  it('C09: 4,000-character query round-trips in full', async () => {
    const target = `https://example.com/p?d=${'a'.repeat(4000)}`;
    expect(await locationOf(target)).toBe(target);
  });

  it('C09: a target of exactly the maximum length round-trips; one byte more is a 400 naming the limit, nothing stored', async () => {
    const max = api.config.links.maxTargetLengthBytes;
    const prefix = 'https://example.com/p?d=';
    const atMax = prefix + 'a'.repeat(max - prefix.length);
    expect(Buffer.byteLength(atMax)).toBe(8192);
    expect(await locationOf(atMax)).toBe(atMax);
    const alias = uniqueAlias('long');
    const tooLong = await createLink(api, { url: `${atMax}a`, alias });
    expectProblem(tooLong, 400, 'target-too-long');
    expect(tooLong.body.maxLengthBytes).toBe(8192);
    expect(tooLong.body.detail).toContain('8192');
    expect((await api.http().get(`/${alias}`)).status).toBe(404);
  });
});

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLink } from '../support/links';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** A URL-ish string from parts, including Unicode hosts and paths, ports, queries and fragments. */
const urlParts = fc
  .record({
    scheme: fc.constantFrom('http', 'https', 'HTTP', 'HtTpS'),
    host: fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((h) => `[${h}]`),
      fc.stringMatching(/^[a-zäöüßéçñ一-龥가-힣]{1,12}$/).map((label) => `${label}.example`),
    ),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path: fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 4 }),
    query: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: undefined }),
    fragment: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: undefined }),
  })
  .map(({ scheme, host, port, path: segments, query, fragment }) => {
    const clean = (s: string) => s.replace(/[/?#\\]/g, '');
    return `${scheme}://${host}${port ? `:${port}` : ''}/${segments.map(clean).join('/')}${query !== undefined ? `?${query.replace(/#/g, '')}` : ''}${fragment !== undefined ? `#${fragment}` : ''}`;
  });

function acceptable(input: string): string | null {
  const trimmed = input.trim();
  if (CONTROL.test(trimmed)) return null;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return null;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password) return null;
  if (url.hostname === 'short.example' || Buffer.byteLength(url.href) > 8192) return null;
  return url.href;
}

/** Property-based tests through the real app: targets round-trip or are refused. */
describe('target URLs, property-based, through create and redirect', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('any http(s) URL the WHATWG parser accepts round-trips to exactly its serialization', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(urlParts, fc.webUrl({ withQueryParameters: true, withFragments: true })), async (input) => {
        const expected = acceptable(input);
        fc.pre(expected !== null);
        const created = await createLink(api, { url: input, alias: uniqueAlias('prop'), forwardQuery: false });
        expect(created.status).toBe(201);
        expect(created.body.url).toBe(expected);
        const visit = await api.http().get(`/${created.body.code}`);
        expect(visit.status).toBe(302);
        expect(visit.headers.location).toBe(expected);
      }),
      { numRuns: 120 },
    );
  });

  it('any string with a control character, another scheme or credentials is refused with 400 and nothing stored', async () => {
    const withControl = fc
      .tuple(
        fc.webUrl(),
        fc.integer({ min: 0, max: 31 }).chain((c) => fc.constant(String.fromCharCode(c))),
        fc.nat(),
      )
      .map(([u, c, at]) => {
        const i = 1 + (at % (u.length - 1));
        return u.slice(0, i) + c + u.slice(i);
      });
    const otherScheme = fc
      .tuple(fc.constantFrom('javascript', 'data', 'file', 'vbscript', 'ftp', 'ws', 'wss', 'mailto', 'tel', 'blob', 'chrome', 'about'), fc.webUrl())
      .map(([scheme, u]) => `${scheme}:${u.replace(/^https?:/, '')}`);
    const credentials = fc
      .tuple(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.option(fc.stringMatching(/^[a-z0-9]{1,8}$/), { nil: undefined }), fc.webUrl())
      .map(([user, pass, u]) => u.replace('://', `://${user}${pass ? `:${pass}` : ''}@`));
    await fc.assert(
      fc.asyncProperty(fc.oneof(withControl, otherScheme, credentials), async (input) => {
        // Control characters at the very ends are whitespace that is trimmed, not refused.
        fc.pre(acceptable(input) === null);
        const alias = uniqueAlias('bad');
        const created = await createLink(api, { url: input, alias });
        expect(created.status).toBe(400);
        expect(created.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect((await api.http().get(`/${alias}`)).status).toBe(404);
      }),
      { numRuns: 120 },
    );
  });
});

/** The main job on real input: every real-world URL in the fixture redirects byte for byte. */
describe('real-world URLs', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('shortens every URL of test/fixtures/real-world-urls.txt and redirects to its serialization byte for byte', async () => {
    const urls = readFileSync(path.resolve(__dirname, '../fixtures/real-world-urls.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    expect(urls.length).toBeGreaterThanOrEqual(500);
    const mismatches: string[] = [];
    const queue = [...urls];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
          const created = await createLink(api, { url, forwardQuery: false });
          const location = created.status === 201 ? (await api.http().get(`/${created.body.code}`)).headers.location : `HTTP ${created.status}`;
          // Most lines are already serialized; IDN, dot-segment and default-port lines show the normalisation.
          const expected = new URL(url).href;
          if (location !== expected) mismatches.push(`${url} -> ${location}, expected ${expected}`);
        }
      }),
    );
    expect(mismatches).toEqual([]);
  });
});

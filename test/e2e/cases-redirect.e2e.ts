import { connect } from 'node:net';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { ChildApp, startChildApp } from '../support/child-process';
import { createdCode } from '../support/links';
import { expectProblem } from '../support/problem';
import { waitUntil } from '../support/wait';

/** Sends raw bytes as an HTTP/1.1 request and returns the response head. */
function rawRequest(port: number, head: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(head));
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => {
      resolve(data.split('\r\n\r\n')[0]);
    });
    socket.on('error', reject);
  });
}

/** docs/cases.md C18-C23: redirect behaviour. */
describe('redirect behaviour (docs/cases.md C18-C23)', () => {
  let api: TestApi;
  let replica: ChildApp;
  beforeAll(async () => {
    api = await startTestApi();
    replica = await startChildApp('api');
  });
  afterAll(async () => {
    await api.close();
    await replica.stop();
  });

  const patch = (code: string, body: Record<string, unknown>) =>
    api
      .http()
      .patch(`/api/v1/links/${encodeURIComponent(code)}`)
      .set('authorization', api.adminAuth)
      .send(body);

  it.each(['/', '//', '/?x=1'])('C18: GET /{code}%s answers like GET /{code}', async (suffix) => {
    const code = await createdCode(api, { url: 'https://example.com/slash', alias: uniqueAlias('s') });
    const res = await api.http().get(`/${code}${suffix}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(suffix.includes('?') ? 'https://example.com/slash?x=1' : 'https://example.com/slash');
  });

  it('C19: from the expiry instant on, cached or not, the answer is 410 without Location', async () => {
    const expiresAt = Date.now() + 1_500;
    const created = await createdCode(api, { url: 'https://example.com/exp', alias: uniqueAlias('exp'), expiresAt: new Date(expiresAt).toISOString() });
    const patched = await createdCode(api, { url: 'https://example.com/exp2', alias: uniqueAlias('exp2') });
    expect((await api.http().get(`/${patched}`)).status).toBe(302);
    expect((await patch(patched, { expiresAt: new Date(expiresAt).toISOString() })).status).toBe(200);
    const seen: string[] = [];
    // Sampled every 20 ms until a round starts after the expiry; no 410 by 5 s after it fails the test.
    await waitUntil(
      'a round of requests after the expiry',
      async () => {
        const started = Date.now();
        const [a, b, c] = await Promise.all([
          api.http().get(`/${created}`),
          api.http().get(`/${patched}`),
          fetch(`${replica.url}/${patched}`, { redirect: 'manual' }),
        ]);
        const ended = Date.now();
        for (const [status, location] of [
          [a.status, a.headers.location],
          [b.status, b.headers.location],
          [c.status, c.headers.get('location') ?? undefined],
        ] as const) {
          if (started >= expiresAt) {
            expect(status).toBe(410);
            expect(location).toBeUndefined();
          } else if (ended < expiresAt) {
            expect(status).toBe(302);
          }
          seen.push(String(status));
        }
        return { done: started >= expiresAt, state: seen.join(',') };
      },
      { timeoutMs: expiresAt + 5_000 - Date.now(), intervalMs: 20 },
    );
    expect(seen).toContain('302');
  });

  it('C20: maxClicks 1 allows one visit; the second is 410', async () => {
    const code = await createdCode(api, { url: 'https://example.com/once', alias: uniqueAlias('once'), maxClicks: 1 });
    expect((await api.http().get(`/${code}`)).status).toBe(302);
    const second = await api.http().get(`/${code}`);
    expect(second.status).toBe(410);
    expect(second.headers.location).toBeUndefined();
  });

  it('C20: 10 parallel visits to a maxClicks 1 link give exactly one redirect, across two processes', async () => {
    const code = await createdCode(api, { url: 'https://example.com/one', alias: uniqueAlias('one'), maxClicks: 1 });
    const visits = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? api
              .http()
              .get(`/${code}`)
              .then((r) => r.status)
          : fetch(`${replica.url}/${code}`, { redirect: 'manual' }).then((r) => r.status),
      ),
    );
    expect(visits.sort()).toEqual([302, ...Array(9).fill(410)]);
  });

  it('C20 kind: link-preview bots get the redirect without consuming a visit', async () => {
    const code = await createdCode(api, { url: 'https://example.com/preview', alias: uniqueAlias('pv'), maxClicks: 1 });
    for (const ua of [
      'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
      'facebookexternalhit/1.1',
      'TelegramBot (like TwitterBot)',
      'Mozilla/5.0 (compatible; Discordbot/2.0)',
    ]) {
      expect((await api.http().get(`/${code}`).set('user-agent', ua)).status).toBe(302);
    }
    expect((await api.http().get(`/${code}`).set('user-agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0')).status).toBe(302);
    expect((await api.http().get(`/${code}`)).status).toBe(410);
  });

  it('C21: HEAD answers like GET with an empty body and consumes no max clicks', async () => {
    const code = await createdCode(api, { url: 'https://example.com/head', alias: uniqueAlias('head'), maxClicks: 1 });
    for (let i = 0; i < 3; i += 1) {
      const head = await api.http().head(`/${code}`);
      expect(head.status).toBe(302);
      expect(head.headers.location).toBe('https://example.com/head');
      expect(head.text).toBeUndefined();
    }
    expect((await api.http().get(`/${code}`)).status).toBe(302);
    expect((await api.http().head(`/${code}`)).status).toBe(410);
    const unknown = await api.http().head('/nope-does-not-exist');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.location).toBeUndefined();
  });

  it('C22: after DELETE the very next GET is 410 on every process', async () => {
    const code = await createdCode(api, { url: 'https://example.com/doomed', alias: uniqueAlias('doomed') });
    expect((await api.http().get(`/${code}`)).status).toBe(302);
    expect((await fetch(`${replica.url}/${code}`, { redirect: 'manual' })).status).toBe(302);
    expect((await api.http().delete(`/api/v1/links/${code}`).set('authorization', api.adminAuth)).status).toBe(204);
    expect((await api.http().get(`/${code}`)).status).toBe(410);
    expect((await fetch(`${replica.url}/${code}`, { redirect: 'manual' })).status).toBe(410);
  });

  it('C22: after PATCH of the URL the very next GET has the new Location on every process', async () => {
    const code = await createdCode(api, { url: 'https://example.com/old', alias: uniqueAlias('moved') });
    expect((await api.http().get(`/${code}`)).headers.location).toBe('https://example.com/old');
    expect((await fetch(`${replica.url}/${code}`, { redirect: 'manual' })).headers.get('location')).toBe('https://example.com/old');
    const patched = await api
      .http()
      .patch(`/api/v1/links/${code}`)
      .set('authorization', api.adminAuth)
      .set('content-type', 'application/merge-patch+json')
      .send(JSON.stringify({ url: 'https://example.com/new' }));
    expect(patched.status).toBe(200);
    expect((await api.http().get(`/${code}`)).headers.location).toBe('https://example.com/new');
    expect((await fetch(`${replica.url}/${code}`, { redirect: 'manual' })).headers.get('location')).toBe('https://example.com/new');
  });

  it('C22 kind: a code created after a 404 was cached is found at once on every process', async () => {
    const alias = uniqueAlias('later');
    expect((await api.http().get(`/${alias}`)).status).toBe(404);
    expect((await fetch(`${replica.url}/${alias}`, { redirect: 'manual' })).status).toBe(404);
    await createdCode(api, { url: 'https://example.com/later', alias });
    expect((await api.http().get(`/${alias}`)).status).toBe(302);
    expect((await fetch(`${replica.url}/${alias}`, { redirect: 'manual' })).status).toBe(302);
  });

  it('C23: 302 by default with Cache-Control private, no-store', async () => {
    const code = await createdCode(api, { url: 'https://example.com/default', alias: uniqueAlias('d') });
    const res = await api.http().get(`/${code}`);
    expect([res.status, res.headers['cache-control']]).toEqual([302, 'private, no-store']);
  });

  it.each([
    [301, 'public, max-age=3600'],
    [308, 'public, max-age=3600'],
    [307, 'private, no-store'],
  ])('C23: a link asking for %i gets it with Cache-Control %s', async (redirectType, cacheControl) => {
    const code = await createdCode(api, { url: 'https://example.com/perm', alias: uniqueAlias('perm'), redirectType });
    const res = await api.http().get(`/${code}`);
    expect([res.status, res.headers['cache-control'], res.headers.location]).toEqual([redirectType, cacheControl, 'https://example.com/perm']);
  });

  it('C23 kind: a permanent redirect of an expiring link is cached no longer than until the expiry', async () => {
    const code = await createdCode(api, {
      url: 'https://example.com/p',
      alias: uniqueAlias('pe'),
      redirectType: 301,
      expiresAt: new Date(Date.now() + 600_500).toISOString(),
    });
    const maxAge = Number(/max-age=(\d+)/.exec((await api.http().get(`/${code}`)).headers['cache-control'])![1]);
    expect(maxAge).toBeGreaterThanOrEqual(598);
    expect(maxAge).toBeLessThanOrEqual(600);
  });

  it('unknown codes are 404 problems without Location; gone links are 410 problems', async () => {
    const res = await api.http().get('/does-not-exist-anywhere');
    expectProblem(res, 404, 'link-not-found');
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['cache-control']).toBe('private, no-store');
  });

  it('raw non-ASCII bytes in the request target are a 400 problem, never a redirect', async () => {
    const code = await createdCode(api, { url: 'https://example.com/raw', alias: uniqueAlias('raw') });
    const head = await rawRequest(
      replica.port,
      Buffer.concat([Buffer.from(`GET /${code}?q=`), Buffer.from('é', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: short.example\r\nConnection: close\r\n\r\n')]),
    );
    expect(head.split('\r\n').slice(0, 2)).toEqual(['HTTP/1.1 400 Bad Request', 'Content-Type: application/problem+json; charset=utf-8']);
  });
});

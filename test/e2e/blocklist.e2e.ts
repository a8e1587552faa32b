import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { ChildApp, startChildApp } from '../support/child-process';
import { createdCode, createLink, mintKey } from '../support/links';
import { expectProblem } from '../support/problem';
import { counterValue, isolatedRedis } from '../support/security';
import { waitUntil } from '../support/wait';

/**
 * The host blocklist (docs/design.md sections 4, 5 and 9): configured hosts and
 * hosts added by admins are refused at create and PATCH; links to a host
 * blocked later answer 410 on every API process (the list is reloaded
 * through the invalidation bus), and redirect again once it is unblocked.
 * Hosts are unique per run: the worker's database outlives this file.
 */
describe('host blocklist', () => {
  let api: TestApi;
  let replica: ChildApp;
  // Shared by both processes: the same invalidation channel.
  const overrides = isolatedRedis({ BLOCKED_HOSTS: 'Configured.Example,*.wild.example' });
  const run = uniqueAlias('bl').toLowerCase();
  const added: string[] = [];

  const block = (host: string, auth = api.adminAuth, reason?: string) =>
    api
      .http()
      .post('/api/v1/blocklist')
      .set('authorization', auth)
      .send({ host, ...(reason ? { reason } : {}) });
  const unblock = (host: string, auth = api.adminAuth) =>
    api
      .http()
      .delete(`/api/v1/blocklist/${encodeURIComponent(host)}`)
      .set('authorization', auth);
  const replicaStatus = (path: string) => fetch(`${replica.url}${path}`, { redirect: 'manual' }).then((r) => r.status);

  beforeAll(async () => {
    api = await startTestApi(overrides);
    replica = await startChildApp('api', overrides);
  });
  afterAll(async () => {
    for (const host of added) await unblock(host);
    await api.close();
    await replica.stop();
  });

  it('admins add hosts in canonical form, list them with the configured ones, and remove them', async () => {
    const idn = `bücher.${run}.example.`;
    const first = await block(idn, api.adminAuth, 'phishing kit');
    added.push(`xn--bcher-kva.${run}.example`);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      host: `xn--bcher-kva.${run}.example`,
      source: 'api',
      reason: 'phishing kit',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      createdByKeyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const again = await block(`XN--BCHER-KVA.${run.toUpperCase()}.EXAMPLE`);
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: first.body });
    const wildcard = await block(`*.wild-${run}.example`);
    added.push(`wild-${run}.example`);
    expect({ status: wildcard.status, host: wildcard.body.host }).toEqual({ status: 201, host: `wild-${run}.example` });

    const listed = await api.http().get('/api/v1/blocklist').set('authorization', api.adminAuth);
    expect(listed.status).toBe(200);
    const items = listed.body.items as { host: string; source: string }[];
    expect(items.slice(0, 2)).toEqual([
      { host: 'configured.example', source: 'config', reason: null, createdAt: null, createdByKeyId: null },
      { host: 'wild.example', source: 'config', reason: null, createdAt: null, createdByKeyId: null },
    ]);
    expect(items.filter((i) => i.host.includes(run)).map((i) => [i.host, i.source])).toEqual([
      [`wild-${run}.example`, 'api'],
      [`xn--bcher-kva.${run}.example`, 'api'],
    ]);

    expect((await unblock(`wild-${run}.example`)).status).toBe(204);
    expectProblem(await unblock(`wild-${run}.example`), 404, 'not-found');
    expectProblem(await unblock('configured.example'), 409, 'blocked-host-configured');
  });

  it.each(['', 'http://evil.example/x', 'evil example', 'user@evil.example', '*.'])('refuses %p as a host with 400', async (host) => {
    expectProblem(await block(host), 400, 'validation-failed');
  });

  it('is for admins only', async () => {
    const member = await mintKey(api, 'member');
    expectProblem(await api.http().get('/api/v1/blocklist').set('authorization', member.auth), 403, 'forbidden');
    expectProblem(await block(`member-${run}.example`, member.auth), 403, 'forbidden');
    expectProblem(await unblock('configured.example', member.auth), 403, 'forbidden');
  });

  it('refuses configured and added hosts and their subdomains at create and PATCH, and counts the refusals', async () => {
    expect((await block(`added-${run}.example`)).status).toBe(201);
    added.push(`added-${run}.example`);
    const code = await createdCode(api, { url: 'https://example.com/fine', alias: uniqueAlias('fine') });
    const creates = [
      await createLink(api, { url: 'https://sub.CONFIGURED.example/x' }),
      await createLink(api, { url: 'https://a.b.wild.example/' }),
      await createLink(api, { url: `https://added-${run}.example:8443/p` }),
    ];
    for (const res of creates) expectProblem(res, 400, 'target-host-blocked');
    expect(creates.map((r) => r.body.host)).toEqual(['sub.configured.example', 'a.b.wild.example', `added-${run}.example`]);
    const bulk = await api
      .http()
      .post('/api/v1/links/bulk')
      .set('authorization', api.adminAuth)
      .send({ items: [{ url: 'https://configured.example/' }, { url: 'https://example.com/ok' }] });
    expect(bulk.body.results.map((r: { status: number }) => r.status)).toEqual([400, 201]);
    const patch = await api
      .http()
      .patch(`/api/v1/links/${code}`)
      .set('authorization', api.adminAuth)
      .send({ url: `https://www.added-${run}.example/` });
    expectProblem(patch, 400, 'target-host-blocked');
    expect((await api.http().get(`/${code}`)).headers.location).toBe('https://example.com/fine');
    expect([await counterValue(api, 'blocklistRefusals', { where: 'create' }), await counterValue(api, 'blocklistRefusals', { where: 'update' })]).toEqual([
      4, 1,
    ]);
  });

  it('a host blocked later answers 410 on every process at once, cached links included; unblocking restores the redirect', async () => {
    const host = `later-${run}.example`;
    const doomed = await createdCode(api, { url: `https://${host}/page`, alias: uniqueAlias('doomed') });
    const doomedSub = await createdCode(api, { url: `https://cdn.${host}/asset`, alias: uniqueAlias('doomed-sub') });
    const bystander = await createdCode(api, { url: `https://not${host}/page`, alias: uniqueAlias('bystander') });
    // Warm every cache layer of both processes.
    for (const code of [doomed, doomedSub, bystander]) {
      expect([(await api.http().get(`/${code}`)).status, await replicaStatus(`/${code}`)]).toEqual([302, 302]);
    }
    const refusedBefore = await counterValue(api, 'blocklistRefusals', { where: 'redirect' });

    expect((await block(host)).status).toBe(201);
    added.push(host);
    const gone = await api.http().get(`/${doomed}`);
    expectProblem(gone, 410, 'link-gone');
    expect(gone.headers.location).toBeUndefined();
    expect([(await api.http().head(`/${doomedSub}`)).status, (await api.http().get(`/${bystander}`)).status]).toEqual([410, 302]);
    await waitUntil(
      'the replica to refuse the blocked links',
      async () => (await replicaStatus(`/${doomed}`)) === 410 && (await replicaStatus(`/${doomedSub}`)) === 410,
      { timeoutMs: 10_000 },
    );
    expect(await replicaStatus(`/${bystander}`)).toBe(302);
    expect((await counterValue(api, 'blocklistRefusals', { where: 'redirect' })) - refusedBefore).toBe(2);

    expect((await unblock(host)).status).toBe(204);
    added.pop();
    expect((await api.http().get(`/${doomed}`)).headers.location).toBe(`https://${host}/page`);
    await waitUntil('the replica to redirect again', async () => (await replicaStatus(`/${doomed}`)) === 302, { timeoutMs: 10_000 });
  });
});

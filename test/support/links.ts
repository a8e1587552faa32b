import type { Response } from 'supertest';
import { TestApi } from './api-app';

/** POST /api/v1/links with the admin key (or the given Authorization value). */
export function createLink(api: TestApi, body: Record<string, unknown>, auth = api.adminAuth): Promise<Response> {
  return api.http().post('/api/v1/links').set('authorization', auth).send(body);
}

/** Creates a link and returns its code; fails the test unless the API answers 201. */
export async function createdCode(api: TestApi, body: Record<string, unknown>, auth = api.adminAuth): Promise<string> {
  const res = await createLink(api, body, auth);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.code as string;
}

/** Mints a key of a new account with the given role; returns its Authorization header value. */
export async function mintKey(
  api: TestApi,
  role: 'admin' | 'member' | 'read_only',
  accountId?: string,
): Promise<{ auth: string; accountId: string; id: string }> {
  const res = await api
    .http()
    .post('/api/v1/api-keys')
    .set('authorization', api.adminAuth)
    .send({ name: `test ${role}`, role, ...(accountId ? { accountId } : {}) });
  if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { auth: `Bearer ${res.body.key}`, accountId: res.body.accountId, id: res.body.id };
}

/** The path of a code as a client writes it (percent-encoded UTF-8). */
export function pathOf(code: string): string {
  return `/${encodeURIComponent(code)}`;
}

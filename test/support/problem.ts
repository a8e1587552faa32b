import type { Response } from 'supertest';

/** Asserts an RFC 9457 problem response of the given status and stable code. */
export function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, contentType: String(res.headers['content-type']).split(';')[0], type: res.body?.type }).toEqual({
    status,
    contentType: 'application/problem+json',
    type: `urn:shortener:problem:${code}`,
  });
  expect(res.body.status).toBe(status);
}

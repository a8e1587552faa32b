import { DomainError } from '@shortener/common';
import { decodeAuditCursor, encodeAuditCursor } from '../audit/link-audit.service';
import { decodeCursor, encodeCursor } from './link-cursor';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

function refusal(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e instanceof DomainError ? [e.code, e.extensions] : e;
  }
  return 'accepted';
}

const REFUSED = ['cursor-invalid', { errors: [{ pointer: '/cursor', detail: 'must be the nextCursor value of a previous page' }] }];

describe(decodeCursor.name, () => {
  it('decodes what encodeCursor makes, up to year 9999 and the largest bigint id', () => {
    for (const c of [
      { createdAtMicros: '1764400000123456', id: '42' },
      { createdAtMicros: '253402300799999999', id: '9223372036854775807' },
      { createdAtMicros: '0', id: '0' },
    ]) {
      expect(decodeCursor(encodeCursor(c))).toEqual(c);
    }
  });

  it.each([
    ['a 20-digit created_at', b64('12345678901234567890.1')],
    ['a 20-digit id', b64('1.12345678901234567890')],
    ['an id past the largest bigint', b64('1.9223372036854775808')],
    ['a created_at after 9999-12-31T23:59:59.999999Z', b64('253402300800000000.1')],
    ['a created_at past the largest bigint', b64('9223372036854775807.1')],
    ['a negative number', b64('-1.1')],
    ['no position', b64('garbage')],
    ['characters outside base64url', `${b64('1.1')}!!!`],
    ['padding', `${b64('1.12')}=`],
    ['the empty token', ''],
  ])('refuses %s with cursor-invalid naming the parameter', (_name, token) => {
    expect(refusal(() => decodeCursor(token))).toEqual(REFUSED);
  });

  it('names the parameter it is given', () => {
    expect(refusal(() => decodeCursor('x', '/after'))).toEqual([
      'cursor-invalid',
      { errors: [{ pointer: '/after', detail: 'must be the nextCursor value of a previous page' }] },
    ]);
  });
});

describe(decodeAuditCursor.name, () => {
  it('decodes what encodeAuditCursor makes, up to the largest bigint', () => {
    expect([decodeAuditCursor(encodeAuditCursor('1')), decodeAuditCursor(encodeAuditCursor('9223372036854775807'))]).toEqual(['1', '9223372036854775807']);
  });

  it.each([
    ['a 20-digit id', b64('audit.12345678901234567890')],
    ['an id past the largest bigint', b64('audit.9223372036854775808')],
    ['a links cursor', b64('1.1')],
    ['characters outside base64url', `${encodeAuditCursor('7')}.`],
  ])('refuses %s with cursor-invalid naming the parameter', (_name, token) => {
    expect(refusal(() => decodeAuditCursor(token))).toEqual(REFUSED);
  });
});

import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { VISITOR_HASH_LENGTH, VisitorHasher } from './visitor-hash';

const reference = (salt: string, address: string) => createHmac('sha256', salt).update(address).digest('base64url').slice(0, VISITOR_HASH_LENGTH);

describe('VisitorHasher', () => {
  const salt = 'visitor-hash-spec-salt-0123456789';
  const hasher = new VisitorHasher(salt);

  it.each([
    '127.0.0.1',
    '203.0.113.77',
    '::1',
    '2001:db8::1',
    '::ffff:192.0.2.1',
    'fe80::1%eth0',
    '',
    'x'.repeat(55),
    'x'.repeat(56),
    'x'.repeat(200),
    'é',
    '127.0.0.1\u0000',
  ])('equals createHmac for %j', (address) => {
    expect(hasher.hash(address)).toBe(reference(salt, address));
  });

  it('equals createHmac for any IPv4 or IPv6 address', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (address) => hasher.hash(address) === reference(salt, address)));
  });

  it('equals createHmac for any string (one-block fast path and fallback alike)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (address) => hasher.hash(address) === reference(salt, address)));
  });

  it('equals createHmac for keys of any length, including over one block', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 150 }),
        fc.ipV4(),
        (key, address) => new VisitorHasher(key).hash(address) === reference(key, address),
      ),
    );
  });

  it('gives the same hash when called again (buffers are reset between calls)', () => {
    const first = hasher.hash('2001:db8:85a3::8a2e:370:7334');
    hasher.hash('1.2.3.4');
    expect(hasher.hash('2001:db8:85a3::8a2e:370:7334')).toBe(first);
  });
});

import { DomainError } from '@shortener/common';
import { normalizeBlockedHost } from './blocked-host';

describe(normalizeBlockedHost.name, () => {
  it.each([
    ['evil.example', 'evil.example'],
    ['  Evil.EXAMPLE.  ', 'evil.example'],
    ['*.evil.example', 'evil.example'],
    ['Bücher.Example', 'xn--bcher-kva.example'],
    ['evil.example:8080', 'evil.example'],
    ['203.0.113.7', '203.0.113.7'],
    ['::1', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'],
  ])('stores %p as %p', (input, host) => {
    expect(normalizeBlockedHost(input)).toBe(host);
  });

  it.each(['', '   ', '*.', 'http://evil.example/', 'evil.example/path', 'user@evil.example', 'evil example', 'evil.example?x', `${'a'.repeat(250)}.example`])(
    'refuses %p with validation-failed on /host',
    (input) => {
      let error: unknown;
      try {
        normalizeBlockedHost(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect({ code: (error as DomainError).code, errors: (error as DomainError).extensions.errors }).toEqual({
        code: 'validation-failed',
        errors: [{ pointer: '/host', detail: 'must be a host name or IP address, e.g. evil.example (which also blocks its subdomains)' }],
      });
    },
  );
});

import { canonicalHost, isHostBlocked, isOneOfHosts } from './host-name';

describe(canonicalHost.name, () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com..', 'example.com'],
    ['short.example:443', 'short.example'],
    ['Bücher.Example', 'xn--bcher-kva.example'],
    ['ＥＸＡＭＰＬＥ.com', 'example.com'],
    ['0x7f.1', '127.0.0.1'],
    ['::1', '[::1]'],
    ['[0:0::1]', '[::1]'],
    ['2001:DB8::1', '[2001:db8::1]'],
    ['  example.com  ', 'example.com'],
    ['exa mple.com', 'exa mple.com'],
    ['user@evil.example', 'user@evil.example'],
    ['evil.example/path', 'evil.example/path'],
  ])('%j -> %j', (host, expected) => {
    expect(canonicalHost(host)).toBe(expected);
  });
});

describe(isHostBlocked.name, () => {
  const blocked = ['evil.example', 'Bücher.Example', '10.0.0.1', '::1', '*.wild.example'];

  it.each([
    ['evil.example', true],
    ['EVIL.example.', true],
    ['a.b.evil.example', true],
    ['notevil.example', false],
    ['evil.example.com', false],
    ['example', false],
    ['shop.xn--bcher-kva.example', true],
    ['10.0.0.1', true],
    ['1.10.0.0.1', false],
    ['10.0.0.10', false],
    ['[::1]', true],
    ['[::2]', false],
    ['wild.example', true],
    ['a.wild.example', true],
  ])('%j -> %j', (host, expected) => {
    expect(isHostBlocked(host, blocked)).toBe(expected);
  });

  it('blocks nothing with an empty list', () => {
    expect(isHostBlocked('evil.example', [])).toBe(false);
  });
});

describe(isOneOfHosts.name, () => {
  it('matches exact hosts only, in canonical form', () => {
    const hosts = ['short.example', 'xn--bcher-kva.example'];
    expect(isOneOfHosts('SHORT.example.', hosts)).toBe(true);
    expect(isOneOfHosts('bücher.example', hosts)).toBe(true);
    expect(isOneOfHosts('www.short.example', hosts)).toBe(false);
    expect(isOneOfHosts('example', hosts)).toBe(false);
  });
});

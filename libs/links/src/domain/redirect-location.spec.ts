import fc from 'fast-check';
import { appendForwardedQuery } from './redirect-location';

function latin1(bytes: number[]): string {
  return Buffer.from(bytes).toString('latin1');
}

describe(appendForwardedQuery.name, () => {
  it('C05: puts forwarded parameters before the fragment', () => {
    expect(appendForwardedQuery('https://example.com/map/?id=287#!ct/125?z/17', 'utm_source=x')).toBe(
      'https://example.com/map/?id=287&utm_source=x#!ct/125?z/17',
    );
  });

  it.each([
    ['https://example.com/p', 'a=1', 'https://example.com/p?a=1'],
    ['https://example.com/p?', 'a=1', 'https://example.com/p?a=1'],
    ['https://example.com/p?b=2', 'a=1', 'https://example.com/p?b=2&a=1'],
    ['https://example.com/p#frag', 'a=1', 'https://example.com/p?a=1#frag'],
    ['https://example.com/p?#frag', 'a=1', 'https://example.com/p?a=1#frag'],
    ['https://example.com/p?b=2#', 'a=1', 'https://example.com/p?b=2&a=1#'],
    ['https://example.com/p#a#b', 'a=1', 'https://example.com/p?a=1#a#b'],
    ['https://example.com/p?b=2&', 'a=1', 'https://example.com/p?b=2&&a=1'],
  ])('%j + %j -> %j', (target, rawQuery, expected) => {
    expect(appendForwardedQuery(target, rawQuery)).toBe(expected);
  });

  it.each(['https://example.com/p', 'https://example.com/p?', 'https://example.com/p?b=2#f'])('leaves %j unchanged for an empty query', (target) => {
    expect(appendForwardedQuery(target, '')).toBe(target);
  });

  it('forwards the raw query as sent: + and %2B, valueless keys, empty values, repeats, order', () => {
    expect(appendForwardedQuery('https://example.com/s?q=1', 'q=a+b&tag=c%2Bd&flag&empty=&a=2&a=1&%zz')).toBe(
      'https://example.com/s?q=1&q=a+b&tag=c%2Bd&flag&empty=&a=2&a=1&%zz',
    );
  });

  it('escapes raw bytes as bytes, never as UTF-8 of their latin1 reading', () => {
    // "ä" sent as UTF-8 arrives as the two latin1 characters U+00C3 U+00A4.
    expect(appendForwardedQuery('https://example.com/', `q=${latin1([0xc3, 0xa4])}`)).toBe('https://example.com/?q=%C3%A4');
    expect(appendForwardedQuery('https://example.com/', `q=${latin1([0xe4])}`)).toBe('https://example.com/?q=%E4');
  });

  it.each(Array.from({ length: 256 }, (_, byte) => byte).filter((byte) => byte !== 0x23))('byte %i is kept if printable ASCII, else escaped', (byte) => {
    const expected = byte >= 0x21 && byte <= 0x7e ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    expect(appendForwardedQuery('https://example.com/', `a=${latin1([byte])}`)).toBe(`https://example.com/?a=${expected}`);
  });

  it('escapes characters above U+00FF as the UTF-8 bytes of their code point', () => {
    expect(appendForwardedQuery('https://example.com/', 'e=€&s=😀')).toBe('https://example.com/?e=%E2%82%AC&s=%F0%9F%98%80');
  });

  it('stops the forwarded query at a # of the request line', () => {
    expect(appendForwardedQuery('https://example.com/p?b=2#f', 'x=1#frag')).toBe('https://example.com/p?b=2&x=1#f');
    expect(appendForwardedQuery('https://example.com/p', '#frag')).toBe('https://example.com/p');
  });

  it('always yields ASCII: the target, then each raw byte kept if printable or escaped', () => {
    // [target, what precedes the forwarded query, what follows it]
    const target = fc.constantFrom(
      ['https://example.com/', 'https://example.com/?', ''],
      ['https://example.com/p?', 'https://example.com/p?', ''],
      ['https://example.com/p?x=1', 'https://example.com/p?x=1&', ''],
      ['https://example.com/map/?id=287#!ct/125?z/17', 'https://example.com/map/?id=287&', '#!ct/125?z/17'],
    );
    const byte = fc.integer({ min: 0, max: 0xff }).filter((b) => b !== 0x23);
    fc.assert(
      fc.property(target, fc.array(byte, { minLength: 1 }), ([t, before, after], bytes) => {
        const escaped = bytes.map((b) => (b >= 0x21 && b <= 0x7e ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
        const location = appendForwardedQuery(t, latin1(bytes));
        expect(location).toBe(`${before}${escaped}${after}`);
        expect(location).toMatch(/^[\x21-\x7e]+$/);
      }),
    );
  });
});

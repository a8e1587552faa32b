import { DomainError } from '@shortener/common';
import fc from 'fast-check';
import { hostOf, normalizeTarget, TargetPolicy } from './target-url';

const policy: TargetPolicy = { ownHosts: ['short.example'], blockedHosts: ['evil.example'], maxLengthBytes: 8192 };
const CONTROL_CODES = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f];
// ECMAScript whitespace among the C0 controls: removed when surrounding the URL.
const WHITESPACE_CONTROL_CODES = [0x09, 0x0a, 0x0b, 0x0c, 0x0d];

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

function refuse(input: string, p: TargetPolicy = policy): DomainError {
  return refusal(() => normalizeTarget(input, p));
}

function hex(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

describe(normalizeTarget.name, () => {
  describe('URL fidelity (C01-C09)', () => {
    it.each([
      ['C01 + and %2B', 'https://example.com/search?q=a+b&tag=c%2Bd'],
      ['C02 escapes, no %25', 'https://example.com/t?e=ab%2Bcd%2Fef%3D&referrer=utm_source%3Dx%26utm_medium%3Dy'],
      ['C03 %24 and %0A', 'https://example.com/sim.html?cct=%24+1+5%0Ar+2+3%0Aw+4+6%0A'],
      ['C04 valueless key, fragment', 'https://example.com/?abc#123'],
      ['C04 empty and repeated keys', 'https://example.com/p?flag&empty=&a=1&a=2'],
      ['C05 hashbang fragment', 'https://example.com/map/?id=287#!ct/125?z/17'],
      ['invalid escapes kept', 'https://example.com/%zz%4?q=%G1'],
      ['lower-case escapes kept', 'https://example.com/a%c3%a4?x=%2b'],
      ['trailing ? kept', 'https://example.com/p?'],
      ['empty fragment kept', 'https://example.com/p#'],
    ])('%s: returns the input byte for byte', (_, input) => {
      expect(normalizeTarget(input, policy)).toBe(input);
    });

    it.each([
      ['C06 surrounding spaces', ' https://example.com/ ', 'https://example.com/'],
      ['C06 trailing tab', 'https://example.com/page\t', 'https://example.com/page'],
      ['CRLF and no-break space around', '\r\n\u00a0https://example.com/page\u00a0\r\n', 'https://example.com/page'],
      ['C07 non-ASCII path', 'https://example.com/artists/käthe-kollwitz/', 'https://example.com/artists/k%C3%A4the-kollwitz/'],
      ['C07 pre-encoded path', 'https://example.com/artists/k%C3%A4the-kollwitz/', 'https://example.com/artists/k%C3%A4the-kollwitz/'],
      ['C07 Arabic path', 'https://example.com/wiki/مرحبا', 'https://example.com/wiki/%D9%85%D8%B1%D8%AD%D8%A8%D8%A7'],
      ['C08 IDN host', 'https://bücher.example/straße?x=ü', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC'],
      ['C08 A-label host', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC', 'https://xn--bcher-kva.example/stra%C3%9Fe?x=%C3%BC'],
      ['C08 upper-case IDN host', 'https://BÜCHER.Example/', 'https://xn--bcher-kva.example/'],
      ['ß is not folded to ss', 'https://straße.de/', 'https://xn--strae-oqa.de/'],
      [
        'Japanese host, path, query, fragment',
        'https://例え.テスト/パス?q=値#フラグ',
        'https://xn--r8jz45g.xn--zckzah/%E3%83%91%E3%82%B9?q=%E5%80%A4#%E3%83%95%E3%83%A9%E3%82%B0',
      ],
      ['quotes in the query', `https://example.com/?a='b'&c="d"`, 'https://example.com/?a=%27b%27&c=%22d%22'],
      ['soft hyphen in the path', 'https://example.com/a\u00adb', 'https://example.com/a%C2%ADb'],
      ['mixed-case scheme and host', 'HtTpS://Example.COM/Path', 'https://example.com/Path'],
      ['upper-case http', 'HTTP://EXAMPLE.COM', 'http://example.com/'],
      ['default https port', 'https://example.com:443/a', 'https://example.com/a'],
      ['default http port', 'http://example.com:80/a', 'http://example.com/a'],
      ['https port on http kept', 'http://example.com:443/a', 'http://example.com:443/a'],
      ['other port kept', 'https://example.com:8443/a', 'https://example.com:8443/a'],
      ['dot segments', 'https://example.com/a/./b/../c/%2e%2E/d', 'https://example.com/a/d'],
      ['backslashes', 'https://example.com\\a\\b', 'https://example.com/a/b'],
      ['trailing-dot host kept', 'https://example.com./', 'https://example.com./'],
      ['IPv4 in hex', 'http://0x7f.1/', 'http://127.0.0.1/'],
      ['IPv4 as one number', 'http://2130706433/', 'http://127.0.0.1/'],
      ['IPv6 literal', 'http://[2001:DB8::1]:8443/x', 'http://[2001:db8::1]:8443/x'],
      ['IPv4-mapped IPv6', 'http://[::ffff:192.0.2.1]/', 'http://[::ffff:c000:201]/'],
      ['missing slashes after the scheme', 'https:example.com/x', 'https://example.com/x'],
      ['empty user info dropped', 'https://@example.com/', 'https://example.com/'],
    ])('%s: %j becomes %j', (_, input, expected) => {
      expect(normalizeTarget(input, policy)).toBe(expected);
    });

    it('C09: keeps a 4,000-character query', () => {
      const input = `https://example.com/p?d=${'a'.repeat(4000)}`;
      expect(normalizeTarget(input, policy)).toBe(input);
    });

    it('C09: accepts exactly the maximum length', () => {
      const input = `https://example.com/p?d=${'a'.repeat(8192 - 24)}`;
      expect(Buffer.byteLength(input)).toBe(8192);
      expect(normalizeTarget(input, policy)).toBe(input);
    });

    it('C09: refuses one byte more, naming the limit', () => {
      const error = refuse(`https://example.com/p?d=${'a'.repeat(8192 - 23)}`);
      expect(error.code).toBe('target-too-long');
      expect(error.extensions).toEqual({ maxLengthBytes: 8192, lengthBytes: 8193 });
      expect(error.detail).toBe('The target URL is 8193 bytes long once normalised; the maximum is 8192 bytes');
    });

    it('C09: measures the serialization, not the input', () => {
      // 1,362 code units of input, 8,196 bytes once each ü is percent-encoded.
      const error = refuse(`https://example.com/p?d=${'ü'.repeat(1362)}`);
      expect(error.extensions).toEqual({ maxLengthBytes: 8192, lengthBytes: 24 + 6 * 1362 });
      expect(normalizeTarget(`https://example.com/p?d=${'ü'.repeat(1361)}`, policy)).toHaveLength(24 + 6 * 1361);
    });

    it('honours a configured maximum', () => {
      const small = { ...policy, maxLengthBytes: 20 };
      expect(normalizeTarget('https://example.com/', small)).toBe('https://example.com/');
      expect(refuse('https://example.com/a', small).extensions).toEqual({ maxLengthBytes: 20, lengthBytes: 21 });
    });
  });

  describe('control characters (C06, C11)', () => {
    it.each(CONTROL_CODES)('refuses code %i inside the URL, naming it and its index', (code) => {
      const error = refuse(`https://example.com/a${String.fromCharCode(code)}b`);
      expect(error.code).toBe('target-control-character');
      expect(error.extensions).toEqual({ codePoint: hex(code), index: 21 });
    });

    it.each(CONTROL_CODES)('refuses code %i inside the scheme or host', (code) => {
      const c = String.fromCharCode(code);
      expect(refuse(`ht${c}tps://example.com/`).extensions).toEqual({ codePoint: hex(code), index: 2 });
      expect(refuse(`https://exa${c}mple.com/`).extensions).toEqual({ codePoint: hex(code), index: 11 });
    });

    it.each(WHITESPACE_CONTROL_CODES)('trims whitespace control %i around the URL', (code) => {
      const c = String.fromCharCode(code);
      expect(normalizeTarget(`${c}https://example.com/page${c}`, policy)).toBe('https://example.com/page');
    });

    it.each(CONTROL_CODES.filter((c) => !WHITESPACE_CONTROL_CODES.includes(c)))('refuses non-whitespace control %i even around the URL', (code) => {
      const c = String.fromCharCode(code);
      expect(refuse(`https://example.com/page${c}`).extensions).toEqual({ codePoint: hex(code), index: 24 });
      expect(refuse(`${c}https://example.com/page`).extensions).toEqual({ codePoint: hex(code), index: 0 });
    });

    it('reports the index in the untrimmed input', () => {
      const error = refuse('  https://example.com/a\nb');
      expect(error.extensions).toEqual({ codePoint: 'U+000A', index: 23 });
      expect(error.detail).toBe('The target URL contains the control character U+000A at index 23; only surrounding whitespace is removed');
    });

    it('C11: refuses java\\tscript: for its tab, before the parser drops it', () => {
      const error = refuse('java\tscript:alert(1)');
      expect(error.code).toBe('target-control-character');
      expect(error.extensions).toEqual({ codePoint: 'U+0009', index: 4 });
    });

    it('refuses any string with a control character between non-whitespace text', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.constantFrom(...CONTROL_CODES), fc.string({ unit: 'binary' }), (a, code, b) => {
          expect(refuse(`${a}x${String.fromCharCode(code)}x${b}`).code).toBe('target-control-character');
        }),
      );
    });

    it('refuses any string with a non-whitespace control character anywhere', () => {
      const codes = CONTROL_CODES.filter((c) => !WHITESPACE_CONTROL_CODES.includes(c));
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.constantFrom(...codes), fc.string({ unit: 'binary' }), (a, code, b) => {
          expect(refuse(`${a}${String.fromCharCode(code)}${b}`).code).toBe('target-control-character');
        }),
      );
    });
  });

  describe('not absolute (C10)', () => {
    it.each([
      'example.com/path',
      '//example.com/path',
      '/local/path',
      'local/path',
      '?q=1',
      '#top',
      '',
      '   ',
      'https//example.com',
      'http://',
      'https://',
      'https://exa mple.com/',
      'http://[::1',
      'http://ex<ample.com/',
      'https://example.com:99999/',
    ])('refuses %j', (input) => {
      const error = refuse(input);
      expect(error.code).toBe('target-invalid');
      expect(error.detail).toBe('The target must be an absolute URL that starts with http:// or https://');
    });

    it('refuses host:port without a scheme, reading the host as the scheme', () => {
      expect(refuse('example.com:8080/path').extensions).toEqual({ allowedSchemes: ['http', 'https'], scheme: 'example.com' });
      expect(refuse('localhost:3000/x').extensions).toEqual({ allowedSchemes: ['http', 'https'], scheme: 'localhost' });
    });
  });

  describe('schemes (C11)', () => {
    it.each([
      ['javascript:alert(1)', 'javascript'],
      ['JaVaScRiPt:alert(1)', 'javascript'],
      [' javascript:alert(1)', 'javascript'],
      ['data:text/html,<b>x</b>', 'data'],
      ['file:///etc/hosts', 'file'],
      ['vbscript:msgbox(1)', 'vbscript'],
      ['ftp://example.com/file', 'ftp'],
      ['ws://example.com/socket', 'ws'],
      ['wss://example.com/socket', 'wss'],
      ['mailto:someone@example.com', 'mailto'],
      ['tel:+15555550100', 'tel'],
      ['blob:https://example.com/uuid', 'blob'],
      ['about:blank', 'about'],
      ['intent://x#Intent;end', 'intent'],
      ['httpx://example.com/', 'httpx'],
      ['https+js://example.com/', 'https+js'],
    ])('refuses %j, naming http, https and %j', (input, scheme) => {
      const error = refuse(input);
      expect(error.code).toBe('target-scheme-not-allowed');
      expect(error.detail).toBe(`Only http and https target URLs are allowed, not "${scheme}"`);
      expect(error.extensions).toEqual({ allowedSchemes: ['http', 'https'], scheme });
    });

    it('shortens a very long scheme in the error', () => {
      expect(refuse(`${'a'.repeat(100)}:x`).extensions).toEqual({ allowedSchemes: ['http', 'https'], scheme: `${'a'.repeat(32)}...` });
    });

    it('refuses every other scheme in any letter case', () => {
      const scheme = fc
        .tuple(fc.stringMatching(/^[a-z][a-z0-9+.-]{0,12}$/), fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }))
        .filter(([s]) => s !== 'http' && s !== 'https')
        .map(([s, upper]) => [s, [...s].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')] as const);
      fc.assert(
        fc.property(scheme, fc.webUrl({ withQueryParameters: true, withFragments: true }), ([lower, written], url) => {
          const input = `${written}:${url.slice(url.indexOf(':') + 1)}`;
          const error = refuse(input);
          expect(error.code).toBe(URL.canParse(input) ? 'target-scheme-not-allowed' : 'target-invalid');
          if (error.code === 'target-scheme-not-allowed') expect(error.extensions).toEqual({ allowedSchemes: ['http', 'https'], scheme: lower });
        }),
      );
    });
  });

  describe('credentials', () => {
    it.each([
      'https://user@example.com/',
      'https://user:pass@example.com/',
      'https://:pass@example.com/',
      'https://example.com@evil.test/',
      'http://a%40b:c@example.com/',
    ])('refuses %j', (input) => {
      const error = refuse(input);
      expect(error.code).toBe('target-has-credentials');
      expect(error.detail).toBe('The target URL must not contain a user name or password');
    });
  });

  describe("the shortener's own hosts (C12)", () => {
    it.each([
      'https://short.example/a1',
      'https://SHORT.example/a1',
      'https://short.example:443/a1',
      'http://short.example/a1/',
      'https://short.example:8443/a1',
      'https://short.example./a1',
      'https://short.example../a1',
      'https://ｓｈｏｒｔ.example/a1',
      'https://short%2Eexample/a1',
      'https://short。example/a1',
      '  HTTPS://Short.Example:443/a1?x=1#y ',
    ])('refuses %j', (input) => {
      const error = refuse(input);
      expect(error.code).toBe('target-host-not-allowed');
      expect(error.extensions).toEqual({ host: 'short.example' });
      expect(error.detail).toBe('The target URL points at this shortener (short.example)');
    });

    it('allows other hosts that merely contain the own host', () => {
      expect(normalizeTarget('https://www.short.example/a1', policy)).toBe('https://www.short.example/a1');
      expect(normalizeTarget('https://short.example.com/a1', policy)).toBe('https://short.example.com/a1');
      expect(normalizeTarget('https://example.com/short.example', policy)).toBe('https://example.com/short.example');
    });

    it('compares IDN own hosts in A-label form, however either side is written', () => {
      for (const own of ['xn--bcher-kva.example', 'Bücher.Example', 'bücher.example.']) {
        const p = { ...policy, ownHosts: [own] };
        expect(refuse('https://BÜCHER.example/x', p).extensions).toEqual({ host: 'xn--bcher-kva.example' });
        expect(refuse('https://xn--bcher-kva.example/x', p).code).toBe('target-host-not-allowed');
      }
    });

    it('compares IP own hosts in canonical form', () => {
      const p = { ...policy, ownHosts: ['127.0.0.1', '::1', 'short.example:8080'] };
      expect(refuse('http://0x7f.1/', p).extensions).toEqual({ host: '127.0.0.1' });
      expect(refuse('http://[0:0::1]:3000/', p).extensions).toEqual({ host: '[::1]' });
      expect(refuse('https://short.example/', p).extensions).toEqual({ host: 'short.example' });
    });
  });

  describe('blocked hosts', () => {
    it.each([
      ['https://evil.example/', 'evil.example'],
      ['https://EVIL.example:8080/x', 'evil.example'],
      ['https://a.b.evil.example./x', 'a.b.evil.example'],
      ['https://ｅｖｉｌ.example/', 'evil.example'],
    ])('refuses %j', (input, host) => {
      const error = refuse(input);
      expect(error.code).toBe('target-host-blocked');
      expect(error.extensions).toEqual({ host });
      expect(error.detail).toBe(`The host ${host} is blocked`);
    });

    it('does not block look-alike neighbours', () => {
      expect(normalizeTarget('https://notevil.example/', policy)).toBe('https://notevil.example/');
      expect(normalizeTarget('https://evil.example.com/', policy)).toBe('https://evil.example.com/');
      expect(normalizeTarget('https://example/', policy)).toBe('https://example/');
    });

    it('blocks IDN and IP entries in canonical form', () => {
      const p = { ...policy, blockedHosts: ['Bücher.Example', '10.0.0.1', '[2001:db8::1]', '*.wild.example'] };
      expect(refuse('https://shop.xn--bcher-kva.example/', p).extensions).toEqual({ host: 'shop.xn--bcher-kva.example' });
      expect(refuse('http://10.0.0.1:8080/', p).extensions).toEqual({ host: '10.0.0.1' });
      expect(refuse('http://[2001:DB8:0::1]/', p).extensions).toEqual({ host: '[2001:db8::1]' });
      expect(refuse('https://a.wild.example/', p).extensions).toEqual({ host: 'a.wild.example' });
      expect(normalizeTarget('http://10.0.0.10/', p)).toBe('http://10.0.0.10/');
    });
  });

  describe('properties', () => {
    const anyPolicy = { ownHosts: ['localhost'], blockedHosts: [], maxLengthBytes: Number.MAX_SAFE_INTEGER };
    const webUrl = fc.webUrl({
      validSchemes: ['http', 'https'],
      withQueryParameters: true,
      withFragments: true,
      authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withPort: true },
    });

    it('returns exactly the parser serialization of any http(s) URL', () => {
      fc.assert(
        fc.property(webUrl, fc.constantFrom('HTTP', 'Https', ''), (url, scheme) => {
          const input = scheme === '' ? url : url.replace(/^https?/, scheme);
          expect(normalizeTarget(input, anyPolicy)).toBe(new URL(input).href);
        }),
        { numRuns: 2000 },
      );
    });

    it('returns an ASCII fixed point for any accepted input', () => {
      const input = fc.oneof(
        webUrl,
        fc.string({ unit: 'grapheme' }).map((s) => `https://example.com/${s}`),
        fc.tuple(fc.domain(), fc.string({ unit: 'grapheme' })).map(([d, s]) => `http://${d}/?${s}#${s}`),
      );
      fc.assert(
        fc.property(input, (raw) => {
          let normalized: string;
          try {
            normalized = normalizeTarget(raw, anyPolicy);
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
            return;
          }
          expect(normalized).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
          expect(normalizeTarget(normalized, anyPolicy)).toBe(normalized);
        }),
        { numRuns: 2000 },
      );
    });
  });
});

describe(hostOf.name, () => {
  it.each([
    ['https://Example.COM:8443/x', 'example.com'],
    ['https://bücher.example./', 'xn--bcher-kva.example'],
    ['http://[2001:DB8::1]/', '[2001:db8::1]'],
    ['http://0x7f.1/', '127.0.0.1'],
  ])('%j has host %j', (target, host) => {
    expect(hostOf(target)).toBe(host);
  });

  it('refuses a relative URL', () => {
    expect(refusal(() => hostOf('/path')).code).toBe('target-invalid');
  });
});

import { findLoneSurrogate, findNulCharacter } from './http-hardening';

describe(findNulCharacter.name, () => {
  it.each([
    [{ title: 'fine', tags: ['a', 'b'] }, null],
    ['plain', null],
    [null, null],
    [42, null],
    ['a\u0000b', '/'],
    [{ title: 'a\u0000' }, '/title'],
    [{ tags: ['ok', 'x\u0000'] }, '/tags/1'],
    [{ items: [{ 'k\u0000': 1 }] }, '/items/0/k\u0000'],
    [{ 'a/b': { '~c': '\u0000' } }, '/a~1b/~0c'],
  ])('finds U+0000 in %p at %p', (value, pointer) => {
    expect(findNulCharacter(value)).toBe(pointer);
  });

  it('skips the values of the given members, not their names', () => {
    const skip = new Set(['url']);
    expect(findNulCharacter({ url: 'https://example.com/\u0000', items: [{ url: '\u0000' }] }, skip)).toBeNull();
    expect(findNulCharacter({ url: 'https://example.com/', title: '\u0000' }, skip)).toBe('/title');
    expect(findNulCharacter({ 'url\u0000': 'x' }, skip)).toBe('/url\u0000');
  });

  it('walks nesting deeper than the call stack would allow', () => {
    let deep: unknown = ['\u0000'];
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findNulCharacter(deep)).toBe(`${'/0'.repeat(100_000)}/0`);
  });
});

describe(findLoneSurrogate.name, () => {
  it.each([
    [{ title: 'fine \u00e9\u4e2d', tags: ['\ud83d\ude00', '\uffff'] }, null],
    ['\ud800', '/'],
    ['a\udc00', '/'],
    // A low surrogate before its high one is no pair.
    ['\ude00\ud83d', '/'],
    [{ title: 'ok\ud83d' }, '/title'],
    [{ tags: ['\ud83d\ude00', 'x\udfff'] }, '/tags/1'],
    [{ 'k\ud800': 'v' }, '/k\ud800'],
    [{ 'a/b': { '~c': '\udbff' } }, '/a~1b/~0c'],
    [42, null],
  ])('finds a lone surrogate in %p at %p', (value, pointer) => {
    expect(findLoneSurrogate(value)).toBe(pointer);
  });

  it('skips the values of the given members, not their names', () => {
    const skip = new Set(['items']);
    expect(findLoneSurrogate({ items: [{ title: '\ud800' }] }, skip)).toBeNull();
    expect(findLoneSurrogate({ items: [], other: '\ud800' }, skip)).toBe('/other');
    expect(findLoneSurrogate({ 'items\udc00': [] }, skip)).toBe('/items\udc00');
  });

  it('walks nesting deeper than the call stack would allow', () => {
    let deep: unknown = ['\ud800'];
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findLoneSurrogate(deep)).toBe(`${'/0'.repeat(100_000)}/0`);
  });
});

import { jsonNestingExceeds } from './http-limits';

const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

describe('jsonNestingExceeds', () => {
  it('accepts nesting at the cap and refuses one level more, for arrays, objects and both', () => {
    expect(jsonNestingExceeds(nested(32), 32)).toBe(false);
    expect(jsonNestingExceeds(nested(33), 32)).toBe(true);
    const objects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect(jsonNestingExceeds(objects(32), 32)).toBe(false);
    expect(jsonNestingExceeds(objects(33), 32)).toBe(true);
    expect(jsonNestingExceeds(`${'[{"x":'.repeat(16)}1${'}]'.repeat(16)}`, 32)).toBe(false);
    expect(jsonNestingExceeds(`${'[{"x":'.repeat(16)}[]${'}]'.repeat(16)}`, 32)).toBe(true);
  });

  it('counts depth, not the number of containers', () => {
    expect(jsonNestingExceeds(JSON.stringify({ items: Array.from({ length: 5000 }, (_, i) => ({ url: `https://example.com/${i}`, tags: ['a'] })) }), 4)).toBe(
      false,
    );
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ title: `${'['.repeat(100)}"\\${'{'.repeat(100)}` });
    expect(jsonNestingExceeds(text, 1)).toBe(false);
    expect(jsonNestingExceeds(`["\\\\", [[]]]`, 2)).toBe(true);
    expect(jsonNestingExceeds(`["\\\\", [[]]]`, 3)).toBe(false);
    // An escaped quote after an escaped backslash: the string goes on to the third quote.
    expect(jsonNestingExceeds(`["\\\\\\"[[[", [[]]]`, 2)).toBe(true);
    expect(jsonNestingExceeds(`["\\\\\\"[[[", [[]]]`, 3)).toBe(false);
    // A string that never closes holds everything after it.
    expect(jsonNestingExceeds(`["abc [[[[`, 1)).toBe(false);
  });

  it('scans two million levels without exhausting the stack', () => {
    expect(jsonNestingExceeds(nested(2_000_000), 32)).toBe(true);
  });
});

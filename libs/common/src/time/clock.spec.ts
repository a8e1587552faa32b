import { MAX_INSTANT_MS, MIN_INSTANT_MS } from './clock';

describe('instant bounds', () => {
  it('are the first instant of year 1 and the last millisecond of year 9999, UTC', () => {
    expect([MIN_INSTANT_MS, MAX_INSTANT_MS].map((ms) => new Date(ms).toISOString())).toEqual(['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']);
  });

  it('have year 0 one millisecond before them and a six-digit year (no RFC 3339 spelling) one millisecond after', () => {
    expect([MIN_INSTANT_MS - 1, MAX_INSTANT_MS + 1].map((ms) => new Date(ms).toISOString())).toEqual([
      '0000-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.000Z',
    ]);
  });
});

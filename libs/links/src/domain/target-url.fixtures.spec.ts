import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeTarget, TargetPolicy } from './target-url';

// Made by test/fixtures/harvest-urls.mjs; see there for the sources.
const FIXTURE = join(__dirname, '../../../../test/fixtures/real-world-urls.txt');
const DEFAULT_POLICY: TargetPolicy = { ownHosts: ['localhost'], blockedHosts: [], maxLengthBytes: 8192 };

describe(normalizeTarget.name, () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const lines = text.split('\n').slice(0, -1);

  it('reads a fixture of at least 500 distinct real-world URLs, one per line', () => {
    expect(text.endsWith('\n')).toBe(true);
    expect(lines.filter((line) => line.trim() === '')).toEqual([]);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBeGreaterThanOrEqual(500);
  });

  it('accepts every fixture URL as its WHATWG serialization, a fixed point', () => {
    const problems = lines.flatMap((line) => {
      try {
        const normalized = normalizeTarget(line, DEFAULT_POLICY);
        if (normalized !== new URL(line).href) return [`${line}: became ${normalized}`];
        if (normalizeTarget(normalized, DEFAULT_POLICY) !== normalized) return [`${line}: not a fixed point`];
        return [];
      } catch (error) {
        return [`${line}: ${(error as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });
});

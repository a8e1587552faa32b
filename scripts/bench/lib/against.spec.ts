import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatAgainst, median, migrationDifference, sameWithin, sideFigures } from './against.mjs';

describe('bench --against figures', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('"within 3%" means the medians differ by at most the larger of 3% and 1 us', () => {
    expect(sameWithin(103, 100).same).toBe(true);
    expect(sameWithin(103.5, 100).same).toBe(false);
    // Small figures: 1 us is the floor.
    expect(sameWithin(20.9, 20).same).toBe(true);
    expect(sameWithin(21.2, 20).same).toBe(false);
    expect(sameWithin(97, 100)).toEqual({ same: true, pct: 3, us: 3 });
  });

  it('prints both sides and the verdict', () => {
    const runs = (cpu: number[], rps: number) => cpu.map((c) => ({ cpuUsPerRequest: c, load: { rps, errors: 0 } }));
    const { text, verdict } = formatAgainst(
      [
        { label: 'A: this tree', ref: 'HEAD abc1234', figures: sideFigures(runs([80, 81, 79, 90, 82], 12_000)) },
        { label: 'B: --against', ref: 'HEAD~1 def5678', figures: sideFigures(runs([70, 71, 69, 72, 75], 13_000)) },
      ],
      { seconds: 10, warmup: 3 },
    );
    expect(verdict).toMatchObject({ same: false, us: 10 });
    expect(text).toContain('same within 3%: no (medians differ by 14.1%, 10.0 us)');
    expect(text).toMatch(/\| B: --against \| HEAD~1 def5678 \|\s+5 \|\s+13,000 \|\s+71\.0 \|/);
  });

  it('names the migrations that differ between two trees', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'bench-against-'));
    try {
      const tree = (name: string, files: Record<string, string>) => {
        const dir = path.join(root, name, 'libs/database/src/migrations');
        mkdirSync(dir, { recursive: true });
        for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
        return path.join(root, name);
      };
      const a = tree('a', { '1-init.ts': 'x', '2-more.ts': 'y' });
      // Laid out differently (a formatter's line breaks and trailing commas), the same migrations.
      const b = tree('b', { '1-init.ts': 'x', '2-more.ts': 'y' });
      const formatted = tree('f', { '1-init.ts': 'x\n', '2-more.ts': 'y' });
      expect(
        migrationDifference(tree('g', { '1-init.ts': 'f(a, b)', '2-more.ts': 'y' }), tree('h', { '1-init.ts': 'f(\n  a,\n  b,\n)', '2-more.ts': 'y' })),
      ).toBeNull();
      expect(migrationDifference(a, formatted)).toBeNull();
      const c = tree('c', { '1-init.ts': 'x2', '3-other.ts': 'z' });
      expect(migrationDifference(a, b)).toBeNull();
      expect(migrationDifference(a, c)).toBe('only in this tree: 2-more.ts; only in the other ref: 3-other.ts; changed: 1-init.ts');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

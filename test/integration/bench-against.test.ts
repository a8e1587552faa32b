import { runSmokeBench } from '../support/bench-run';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { REPO_ROOT } from '../support/child-process';

/**
 * `npm run bench -- --against <ref>` (scripts/bench/lib/against.mjs): the
 * other ref built in a temporary worktree, its LRU-hit rounds interleaved with
 * this tree's, both sides' medians and the "same within 3%" verdict printed,
 * the worktree removed afterwards. Smoke mode (1 s rounds) against HEAD;
 * speed is not checked. Needs the compiled apps (`npm run build`).
 */
const runBench = (args: string[]) => runSmokeBench(args);

const git = (...args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();

/** The table rows (cells) that follow `title` in stdout, up to the first line that is not a table line. */
function tableAfter(stdout: string, title: RegExp): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => title.test(l));
  if (start < 0) return [];
  const rows: string[][] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('npm run bench -- --smoke --against HEAD', () => {
  let result: { code: number | null; stdout: string; stderr: string };
  const head = git('rev-parse', '--short', 'HEAD');

  beforeAll(async () => {
    result = await runBench(['--against', 'HEAD']);
  }, 120_000);

  it('exits 0', () => {
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-4000) }).toEqual({ code: 0, stderr: '' });
  });

  it("prints both sides with at least 5 rounds each and numeric medians, the other side named by the ref's short sha", () => {
    const rows = tableAfter(result.stdout, /^A\/B: redirect, LRU hit, rounds interleaved A B, B A/);
    const [header, , ...sides] = rows;
    expect(header).toEqual(['side', 'ref', 'rounds', 'median req/s', 'median CPU us/req', 'req/s min-max', 'CPU us/req min-max', 'errors']);
    expect(sides.map((cells) => cells[0])).toEqual(['A: this tree', 'B: --against']);
    expect(sides[1][1]).toBe(`HEAD ${head}`);
    for (const cells of sides) {
      const rps = Number(cells[3].replace(/,/g, ''));
      const cpu = Number(cells[4]);
      expect({ side: cells[0], rounds: Number(cells[2]) >= 5, rps: Number.isFinite(rps) && rps > 0, cpu: Number.isFinite(cpu) && cpu > 0 }).toEqual({
        side: cells[0],
        rounds: true,
        rps: true,
        cpu: true,
      });
    }
  });

  it('prints the verdict line, consistent with the medians it compares', () => {
    const m = /^same within 3%: (yes|no) \(medians differ by (\d+(?:\.\d+)?)%, (\d+(?:\.\d+)?) us\)$/m.exec(result.stdout);
    expect(m).not.toBeNull();
    const [, verdict, pct, us] = m!;
    const within = Number(us) <= 1.05 || Number(pct) <= 3.05;
    const outside = Number(us) > 0.95 && Number(pct) > 2.95;
    expect(verdict === 'yes' ? within : outside).toBe(true);
  });

  it('runs only the baseline and the LRU hits when no other rows are asked for', () => {
    const names = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| row') && !l.startsWith('| side'))
      .map((l) => l.slice(2).split(' | ')[0].trim())
      .filter((n) => !n.startsWith('A: ') && !n.startsWith('B: '));
    expect(names).toEqual(['baseline: bare Fastify, Map, 302', 'redirect, LRU hit']);
  });

  it('removes its worktree', () => {
    const dir = /--against HEAD: checking out \S+ in (\S+)/.exec(result.stderr)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    expect(git('worktree', 'list', '--porcelain')).not.toContain(dir!);
  });
});

describe('npm run bench -- --against <a ref with other migrations>', () => {
  // The parent of the last commit that added a migration has other ones (unless history is shallow); a commit that
  // only laid them out anew (a formatter) does not count, as the bench compares them without their layout.
  const touched = git('log', '-1', '--diff-filter=A', '--format=%H', '--', 'libs/database/src/migrations');
  const parent = touched ? git('rev-parse', '--verify', '--quiet', `${touched}~1`) : '';
  const differs = parent !== '' && spawnSync('git', ['diff', '--quiet', parent, '--', 'libs/database/src/migrations'], { cwd: REPO_ROOT }).status === 1;

  (differs ? it : it.skip)(
    'refuses before seeding anything, naming the migrations, and removes its worktree',
    async () => {
      const result = await runBench(['--against', parent]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/has other migrations than this tree \(.*\): both sides run on one seeded database, so the bench refuses to compare them/);
      expect(result.stderr).not.toMatch(/seeding /);
      const dir = /checking out \S+ in (\S+)/.exec(result.stderr)?.[1];
      expect(existsSync(dir!)).toBe(false);
      expect(git('worktree', 'list', '--porcelain')).not.toContain(dir!);
    },
    60_000,
  );
});

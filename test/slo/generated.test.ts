// The committed rules, promtool tests and dashboards are exactly what the
// generators write: regenerating (as CI would) changes nothing.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../deploy/slo/files';
import { run } from './support/exec';

function filesUnder(dir: string): string[] {
  return (
    readdirSync(dir)
      // Dotfiles (.gitkeep) only keep an empty folder in git.
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? filesUnder(path) : [path];
      })
      .sort()
  );
}

describe.each([
  {
    script: 'deploy/slo/generate.ts',
    count: 11,
    // Folders the generator owns entirely, and the hand-written files allowed beside its output.
    owned: ['deploy/prometheus/rules', 'deploy/prometheus/tests', 'charts/shortener/files/rules'],
    handWritten: ['deploy/prometheus/tests/operational-alerts.test.yaml', 'deploy/prometheus/tests/click-freshness-stall.test.yaml'],
  },
  {
    script: 'deploy/grafana/src/generate.ts',
    count: 10,
    owned: ['deploy/grafana/dashboards', 'charts/shortener/files/dashboards'],
    handWritten: [],
  },
])('$script', ({ script, count, owned, handWritten }) => {
  let out: string;
  let generated: string[];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'slo-regen-'));
    const r = await run(process.execPath, ['deploy/slo/run-ts.cjs', script, '--out', out], { cwd: REPO_ROOT, timeoutMs: 60_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    generated = filesUnder(out).map((f) => relative(out, f));
  }, 60_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it(`writes ${count} files, each identical to the committed one byte for byte`, () => {
    expect(generated).toHaveLength(count);
    for (const f of generated) {
      const fresh = readFileSync(join(out, f));
      const committed = readFileSync(join(REPO_ROOT, f));
      expect({ file: f, same: fresh.equals(committed) }).toEqual({ file: f, same: true });
    }
  });

  it('leaves no stale file in the folders it owns', () => {
    const committed = owned.flatMap((d) => filesUnder(join(REPO_ROOT, d)).map((f) => relative(REPO_ROOT, f))).sort();
    expect(committed).toEqual([...generated, ...handWritten].sort());
  });
});

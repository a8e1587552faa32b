// `npm run lint` must fail on a floating promise: ESLint's Node API, with the repository's
// eslint.config.mjs, lints test/fixtures/eslint/floating-promise.ts (ignored by the normal run).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = 'test/fixtures/eslint/floating-promise.ts';

// ESLint loads its flat config with import(), which Jest's CommonJS runtime does not offer without
// --experimental-vm-modules; a plain Node child runs the same API.
const PROGRAM = `
const { ESLint } = require('eslint');
(async () => {
  const normal = new ESLint({ cwd: process.cwd() });
  const ignored = await normal.isPathIgnored(process.argv[1]);
  const [result] = await new ESLint({ cwd: process.cwd(), ignore: false }).lintFiles([process.argv[1]]);
  process.stdout.write(JSON.stringify({ ignored, messages: result.messages.map((m) => ({ ruleId: m.ruleId, line: m.line, severity: m.severity })) }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

function lintFixture(): { ignored: boolean; messages: { ruleId: string | null; line: number; severity: number }[] } {
  const run = spawnSync(process.execPath, ['-e', PROGRAM, FIXTURE], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`eslint child exited ${String(run.status)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as ReturnType<typeof lintFixture>;
}

describe('eslint.config.mjs', () => {
  it('reports a floating promise as an error, and keeps the fixture out of the normal run', () => {
    const { ignored, messages } = lintFixture();
    expect(ignored).toBe(true);
    expect(messages).toContainEqual({ ruleId: '@typescript-eslint/no-floating-promises', line: 8, severity: 2 });
  }, 120_000);
});

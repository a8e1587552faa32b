// The README's test command, in stages (scripts/test-stages.mjs lists them with
// their budgets): static (type check, lint), fast (build, then the unit,
// integration, e2e, chart and SLO Jest projects), engines (extra PostgreSQL and
// Redis engines, serially), image, browser. Each stage prints its wall time; a
// failed stage does not stop the later ones, so the closing count covers every
// stage, and the exit code is non-zero when any stage failed.
//   npm test                          every stage
//   npm test -- --stage engines       one stage (repeatable; `npm run test:fast` = static and fast)
//   npm test -- --testPathPatterns x  anything else goes to each stage's Jest run
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { budgetWarning, countsFromJest, exitCode, failedStagesLine, jestCommand, parseArgs, stageLine, summaryLine } from './test-stages.mjs';

if (process.versions.node.split('.')[0] !== '24') {
  console.error(`Node.js 24 is required, this is ${process.version}: run through npm so node_modules/.bin/node is used`);
  process.exit(1);
}
let parsed;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`npm test: ${e.message}`);
  process.exit(2);
}
const { stages, jestArgs } = parsed;
const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts ?? {};
const npmRun = (script) => spawnSync('npm', ['run', '-s', script], { stdio: 'inherit' }).status === 0;

const dir = mkdtempSync(path.join(tmpdir(), 'shortener-jest-'));
const results = [];
const lines = [];
/** null: not built yet in this run; else whether `npm run build` passed. */
let built = null;
try {
  for (const stage of stages) {
    console.log(`\n=== stage ${stage.name} ===`);
    const started = Date.now();
    const result = { steps: [], jest: null };
    for (const step of stage.steps) {
      if (!(step.script in scripts)) {
        if (!step.optional) throw new Error(`package.json has no "${step.script}" script`);
        result.steps.push({ script: step.script, status: 'missing' });
        continue;
      }
      const ok = npmRun(step.script);
      result.steps.push({ script: step.script, status: ok ? 'passed' : 'failed' });
      if (step.script === 'build') built = ok;
    }
    // Stages that run the compiled apps build first, once per run.
    if (stage.needsBuild && built === null) {
      built = npmRun('build');
      result.steps.push({ script: 'build', status: built ? 'passed' : 'failed' });
    }
    const outputFile = path.join(dir, `${stage.name}.json`);
    const args = jestCommand(stage, jestArgs, outputFile);
    if (args && (stage.needsBuild || stage.steps.some((s) => s.script === 'build')) && built === false) {
      result.skippedReason = 'the build failed';
    } else if (args) {
      // --forceExit (in jestCommand): Jest then ends with process.exit once its
      // results are out. Without it, one CI run on a fresh clone had every test
      // passed and the results written, and Jest's main process never ended:
      // Node's exit-time handle cleanup (FreeEnvironment -> CleanupHandles, seen
      // with gdb) spun at 100% CPU on a request that never completed. The
      // results are complete by then; this only changes how the main process ends.
      const jest = spawnSync('npx', ['jest', ...args], { stdio: 'inherit' });
      let json = null;
      try {
        json = JSON.parse(readFileSync(outputFile, 'utf8'));
      } catch {
        // no results were written: the stage line says so
      }
      result.jest = { status: jest.status ?? 1, counts: countsFromJest(json) };
    }
    const ms = Date.now() - started;
    results.push(result);
    const stageLines = [stageLine(stage, result, ms), budgetWarning(stage, ms)].filter(Boolean);
    for (const line of stageLines) console.log(line);
    lines.push(...stageLines);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// Every stage's line again, then one plain closing line that any CI reader understands.
console.log('');
for (const line of lines) console.log(line);
const failed = failedStagesLine(stages.slice(0, results.length), results);
if (failed) console.log(failed);
console.log(summaryLine(results));
process.exit(exitCode(results));

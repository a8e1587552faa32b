// The stages of `npm test` (scripts/test.mjs), with no I/O: which stages run,
// which arguments go to Jest, and the lines the runner prints. The runner does
// the spawning; scripts/test-stages.spec.ts holds this module to its contract.

/**
 * Stages in the order they run. `steps` are npm scripts run before Jest
 * (`optional`: a missing script is reported, not run); `needsBuild`: the stage
 * runs compiled apps, so `npm run build` runs first unless this invocation has
 * built already; `projects`: Jest projects (jest.config.js), none for a stage
 * with no tests yet; `jestArgs`: arguments for that stage's Jest run only.
 * Budgets are wall-clock minutes on 2 cores; going over warns, it does not fail.
 */
export const STAGES = [
  {
    name: 'static',
    budgetMin: 4,
    steps: [{ script: 'typecheck' }, { script: 'lint:arch' }, { script: 'lint', optional: true }],
    projects: [],
  },
  {
    name: 'fast',
    budgetMin: 12,
    steps: [{ script: 'build' }],
    projects: ['unit', 'integration', 'e2e', 'chart', 'slo'],
  },
  { name: 'engines', budgetMin: 20, needsBuild: true, steps: [], projects: ['engines'], jestArgs: ['--runInBand'] },
  { name: 'image', budgetMin: 15, budgetNote: 'cold', needsBuild: true, steps: [], projects: ['image'] },
  { name: 'browser', budgetMin: 8, steps: [], projects: [] },
];

export const STAGE_NAMES = STAGES.map((s) => s.name);

/**
 * `--stage <name>` / `--stage=<name>` (repeatable) picks stages, run in the
 * order of STAGES whatever the order given; every other argument goes to Jest.
 * Throws on an unknown or missing stage name.
 */
export function parseArgs(argv) {
  const picked = new Set();
  const jestArgs = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let name;
    if (arg === '--stage') {
      name = argv[++i];
      if (name === undefined || name.startsWith('-')) throw new Error(`--stage needs a stage name: ${STAGE_NAMES.join(', ')}`);
    } else if (arg.startsWith('--stage=')) {
      name = arg.slice('--stage='.length);
    } else {
      jestArgs.push(arg);
      continue;
    }
    for (const n of name.split(',')) {
      if (!STAGE_NAMES.includes(n)) throw new Error(`unknown stage "${n}": the stages are ${STAGE_NAMES.join(', ')}`);
      picked.add(n);
    }
  }
  const stages = picked.size === 0 ? STAGES : STAGES.filter((s) => picked.has(s.name));
  return { stages, jestArgs };
}

/** The Jest command line of one stage (after `jest`), or null when it has no Jest projects. */
export function jestCommand(stage, jestArgs, outputFile) {
  if (stage.projects.length === 0) return null;
  // --forceExit: see the comment in scripts/test.mjs. --passWithNoTests: a
  // filter given after `--` may match nothing in one stage; that stage then
  // reports 0 tests instead of failing.
  return [
    '--ci',
    '--forceExit',
    '--passWithNoTests',
    '--json',
    `--outputFile=${outputFile}`,
    '--selectProjects',
    ...stage.projects,
    ...(stage.jestArgs ?? []),
    ...jestArgs,
  ];
}

/** Counts from Jest's --json results (null: no results were written). */
export function countsFromJest(results) {
  if (!results) return null;
  return {
    passed: results.numPassedTests ?? 0,
    failed: results.numFailedTests ?? 0,
    skipped: (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0),
    // Test files that failed without a failing test (a compile or setup error).
    brokenFiles: Math.max(0, (results.numFailedTestSuites ?? 0) - countFilesWithFailedTests(results)),
  };
}

function countFilesWithFailedTests(results) {
  return (results.testResults ?? []).filter((f) => (f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
}

/** "41 s", "6 min 51 s", "12 min". */
export function formatDuration(ms) {
  const total = Math.round(ms / 1000);
  const min = Math.floor(total / 60);
  const s = total % 60;
  if (min === 0) return `${s} s`;
  return s === 0 ? `${min} min` : `${min} min ${s} s`;
}

export function budgetText(stage) {
  return `budget ${stage.budgetMin} min${stage.budgetNote ? ` ${stage.budgetNote}` : ''}`;
}

/**
 * Whether a stage passed. `result`: { steps: [{ script, status: 'passed' | 'failed' | 'missing' }],
 * jest: null (no Jest run) | { status, counts } , skippedReason?: string (Jest not run, e.g. build failed) }.
 */
export function stagePassed(result) {
  if (result.steps.some((s) => s.status === 'failed')) return false;
  if (result.skippedReason) return false;
  if (result.jest && (result.jest.status !== 0 || !result.jest.counts || result.jest.counts.failed > 0)) return false;
  return true;
}

/** The line a stage ends with, e.g. `stage fast: 412 passed, 0 failed, 0 skipped in 6 min 51 s (budget 12 min)`. */
export function stageLine(stage, result, ms) {
  const parts = [];
  for (const step of result.steps) {
    if (step.status === 'failed') parts.push(`${step.script} FAILED`);
    else if (step.status === 'missing')
      parts.push(step.script === 'lint' ? 'lint not configured yet (no "lint" script; ESLint comes later)' : `${step.script} not configured yet`);
    else if (stage.projects.length === 0) parts.push(`${step.script} passed`);
  }
  if (result.skippedReason) {
    parts.push(`tests not run (${result.skippedReason})`);
  } else if (result.jest) {
    const c = result.jest.counts;
    if (!c) parts.push(`Jest wrote no results (exit code ${result.jest.status})`);
    else {
      parts.push(`${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
      if (c.brokenFiles > 0) parts.push(`${c.brokenFiles} test file${c.brokenFiles === 1 ? '' : 's'} failed to run`);
      else if (result.jest.status !== 0 && c.failed === 0) parts.push(`Jest exited with code ${result.jest.status}`);
    }
  } else if (stage.projects.length === 0 && stage.steps.length === 0) {
    parts.push('no tests yet, passes');
  }
  const verdict = stagePassed(result) ? '' : ' - FAILED';
  return `stage ${stage.name}: ${parts.join(', ')} in ${formatDuration(ms)} (${budgetText(stage)})${verdict}`;
}

/** A warning when a stage took longer than its budget, else null. */
export function budgetWarning(stage, ms) {
  if (ms <= stage.budgetMin * 60_000) return null;
  return `warning: stage ${stage.name} took ${formatDuration(ms)}, over its ${budgetText(stage)}`;
}

/** The closing line CI readers know: `jest: N passed, M failed, K skipped`, summed over every stage's Jest run. */
export function summaryLine(results) {
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) {
    const c = r.jest?.counts;
    if (!c) continue;
    sum.passed += c.passed;
    sum.failed += c.failed;
    sum.skipped += c.skipped;
  }
  return `jest: ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`;
}

/** The stages that failed, with why, e.g. `failed stages: static (typecheck), fast (3 failed)`; null when none did. */
export function failedStagesLine(stages, results) {
  const failed = [];
  stages.forEach((stage, i) => {
    const r = results[i];
    if (stagePassed(r)) return;
    const why = r.steps.filter((s) => s.status === 'failed').map((s) => s.script);
    if (r.skippedReason) why.push(`tests not run: ${r.skippedReason}`);
    else if (r.jest && !r.jest.counts) why.push('Jest wrote no results');
    else if (r.jest && r.jest.counts.failed > 0) why.push(`${r.jest.counts.failed} failed`);
    else if (r.jest && r.jest.status !== 0) why.push(r.jest.counts.brokenFiles > 0 ? 'a test file failed to run' : `Jest exit code ${r.jest.status}`);
    failed.push(`${stage.name} (${why.join('; ')})`);
  });
  return failed.length === 0 ? null : `failed stages: ${failed.join(', ')}`;
}

/** 0 when every stage passed, else 1. */
export function exitCode(results) {
  return results.every(stagePassed) ? 0 : 1;
}

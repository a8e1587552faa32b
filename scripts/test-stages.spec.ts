import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  budgetWarning,
  countsFromJest,
  exitCode,
  failedStagesLine,
  formatDuration,
  jestCommand,
  parseArgs,
  Stage,
  STAGE_NAMES,
  StageResult,
  STAGES,
  stageLine,
  summaryLine,
} from './test-stages.mjs';

/** The stages of `npm test` (scripts/test.mjs): selection, Jest arguments, and the lines printed. */
const stage = (name: string): Stage => STAGES.find((s) => s.name === name)!;
const jestResult = (passed: number, failed: number, skipped: number, status = failed > 0 ? 1 : 0): StageResult => ({
  steps: [],
  jest: { status, counts: { passed, failed, skipped, brokenFiles: 0 } },
});
const MIN = 60_000;

describe('npm test stages', () => {
  it('runs static, fast, engines, image and browser in that order, with their budgets on 2 cores', () => {
    expect(STAGES.map((s) => [s.name, s.budgetMin])).toEqual([
      ['static', 4],
      ['fast', 12],
      ['engines', 20],
      ['image', 15],
      ['browser', 8],
    ]);
    expect(stage('static').steps.map((s) => s.script)).toEqual(['typecheck', 'lint:arch', 'lint']);
    expect(stage('fast').steps.map((s) => s.script)).toEqual(['build']);
    expect(stage('fast').projects).toEqual(['unit', 'integration', 'e2e', 'chart', 'slo']);
    expect(stage('engines').jestArgs).toEqual(['--runInBand']);
    expect(stage('browser').projects).toEqual([]);
  });

  it('gives every Jest project of jest.config.js to exactly one stage', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.config.js is CommonJS, read the way Jest itself loads it
    const projects = (require(path.join(__dirname, '../jest.config.js')) as { projects: { displayName: string }[] }).projects.map((p) => p.displayName);
    expect(STAGES.flatMap((s) => s.projects).sort()).toEqual([...projects].sort());
  });

  it('names scripts that exist in package.json, except the lint script that is optional until ESLint comes', () => {
    const scripts = JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')).scripts as Record<string, string>;
    for (const step of STAGES.flatMap((s) => s.steps).filter((s) => !s.optional)) expect(Object.keys(scripts)).toContain(step.script);
    expect(scripts['test:fast']).toBe('node scripts/test.mjs --stage static --stage fast');
  });

  describe('arguments', () => {
    it('runs every stage when none is named, and passes every argument to Jest', () => {
      const { stages, jestArgs } = parseArgs(['--testPathPatterns', 'cases', '-t', 'x']);
      expect(stages.map((s) => s.name)).toEqual(STAGE_NAMES);
      expect(jestArgs).toEqual(['--testPathPatterns', 'cases', '-t', 'x']);
    });

    it('runs the named stages, in stage order, whichever form and order they are named in', () => {
      expect(parseArgs(['--stage', 'engines']).stages.map((s) => s.name)).toEqual(['engines']);
      expect(parseArgs(['--stage', 'fast', '--stage=static']).stages.map((s) => s.name)).toEqual(['static', 'fast']);
      expect(parseArgs(['--stage=image,fast', '--stage', 'fast']).stages.map((s) => s.name)).toEqual(['fast', 'image']);
      expect(parseArgs(['--bail', '--stage', 'fast', 'links']).jestArgs).toEqual(['--bail', 'links']);
    });

    it('refuses an unknown or missing stage name', () => {
      expect(() => parseArgs(['--stage', 'slow'])).toThrow('unknown stage "slow": the stages are static, fast, engines, image, browser');
      expect(() => parseArgs(['--stage'])).toThrow('--stage needs a stage name');
      expect(() => parseArgs(['--stage', '--bail'])).toThrow('--stage needs a stage name');
    });

    it('runs each stage as one Jest run of its projects with --forceExit, then the stage arguments, then the extra ones', () => {
      expect(jestCommand(stage('engines'), ['-t', 'drill'], '/tmp/o.json')).toEqual([
        '--ci',
        '--forceExit',
        '--passWithNoTests',
        '--json',
        '--outputFile=/tmp/o.json',
        '--selectProjects',
        'engines',
        '--runInBand',
        '-t',
        'drill',
      ]);
      expect(jestCommand(stage('fast'), [], 'o')).toContain('--forceExit');
      expect(jestCommand(stage('static'), [], 'o')).toBeNull();
      expect(jestCommand(stage('browser'), [], 'o')).toBeNull();
    });
  });

  describe('lines', () => {
    it('formats wall times in minutes and seconds', () => {
      expect([formatDuration(0), formatDuration(41_400), formatDuration(6 * MIN + 51_000), formatDuration(12 * MIN)]).toEqual([
        '0 s',
        '41 s',
        '6 min 51 s',
        '12 min',
      ]);
    });

    it('ends a Jest stage with its counts, time and budget', () => {
      expect(stageLine(stage('fast'), jestResult(412, 0, 0), 6 * MIN + 51_000)).toBe(
        'stage fast: 412 passed, 0 failed, 0 skipped in 6 min 51 s (budget 12 min)',
      );
      expect(stageLine(stage('image'), jestResult(9, 1, 2), 90_000)).toBe(
        'stage image: 9 passed, 1 failed, 2 skipped in 1 min 30 s (budget 15 min cold) - FAILED',
      );
    });

    it('says what the static stage checked, and that lint is not configured yet', () => {
      const result: StageResult = {
        steps: [
          { script: 'typecheck', status: 'passed' },
          { script: 'lint:arch', status: 'failed' },
          { script: 'lint', status: 'missing' },
        ],
        jest: null,
      };
      expect(stageLine(stage('static'), result, 30_000)).toBe(
        'stage static: typecheck passed, lint:arch FAILED, lint not configured yet (no "lint" script; ESLint comes later) in 30 s (budget 4 min) - FAILED',
      );
      expect(exitCode([result])).toBe(1);
    });

    it('passes a stage with no tests yet and says so', () => {
      const result: StageResult = { steps: [], jest: null };
      expect(stageLine(stage('browser'), result, 0)).toBe('stage browser: no tests yet, passes in 0 s (budget 8 min)');
      expect(exitCode([result])).toBe(0);
    });

    it('fails a stage whose build failed, whose Jest run wrote nothing, or whose test file did not run', () => {
      const noBuild: StageResult = { steps: [{ script: 'build', status: 'failed' }], jest: null, skippedReason: 'the build failed' };
      expect(stageLine(stage('engines'), noBuild, 5_000)).toBe('stage engines: build FAILED, tests not run (the build failed) in 5 s (budget 20 min) - FAILED');
      const noResults: StageResult = { steps: [], jest: { status: 1, counts: null } };
      expect(stageLine(stage('image'), noResults, 1_000)).toBe('stage image: Jest wrote no results (exit code 1) in 1 s (budget 15 min cold) - FAILED');
      const broken: StageResult = { steps: [], jest: { status: 1, counts: { passed: 3, failed: 0, skipped: 0, brokenFiles: 1 } } };
      expect(stageLine(stage('fast'), broken, 1_000)).toBe(
        'stage fast: 3 passed, 0 failed, 0 skipped, 1 test file failed to run in 1 s (budget 12 min) - FAILED',
      );
      expect([noBuild, noResults, broken].map((r) => exitCode([r]))).toEqual([1, 1, 1]);
      expect(failedStagesLine([stage('engines'), stage('image'), stage('fast')], [noBuild, noResults, broken])).toBe(
        'failed stages: engines (build; tests not run: the build failed), image (Jest wrote no results), fast (a test file failed to run)',
      );
    });

    it('warns, without failing, when a stage goes over its budget', () => {
      expect(budgetWarning(stage('fast'), 12 * MIN)).toBeNull();
      expect(budgetWarning(stage('fast'), 13 * MIN + 2_000)).toBe('warning: stage fast took 13 min 2 s, over its budget 12 min');
      expect(exitCode([jestResult(1, 0, 0)])).toBe(0);
    });

    it('closes with one count over every stage, in the form CI readers know, and a non-zero exit when any stage failed', () => {
      const results = [
        { steps: [{ script: 'typecheck', status: 'passed' }], jest: null } as StageResult,
        jestResult(412, 0, 3),
        jestResult(20, 2, 1),
        { steps: [], jest: null },
      ];
      expect(summaryLine(results)).toBe('jest: 432 passed, 2 failed, 4 skipped');
      expect(exitCode(results)).toBe(1);
      expect(failedStagesLine(STAGES.slice(0, 4), results)).toBe('failed stages: engines (2 failed)');
      expect(exitCode([results[0], results[1]])).toBe(0);
      expect(failedStagesLine(STAGES.slice(0, 2), [results[0], results[1]])).toBeNull();
    });
  });

  it('counts Jest results: skipped includes todo, and a failed file without a failed test is a file that did not run', () => {
    const json = {
      numPassedTests: 5,
      numFailedTests: 1,
      numPendingTests: 2,
      numTodoTests: 1,
      numFailedTestSuites: 2,
      testResults: [{ assertionResults: [{ status: 'failed' }, { status: 'passed' }] }, { assertionResults: [] }],
    };
    expect(countsFromJest(json)).toEqual({ passed: 5, failed: 1, skipped: 3, brokenFiles: 1 });
    expect(countsFromJest(null)).toBeNull();
  });
});

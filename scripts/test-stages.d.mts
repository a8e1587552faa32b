/** Types of test-stages.mjs (the stages of `npm test`). */
export interface Stage {
  name: string;
  budgetMin: number;
  budgetNote?: string;
  needsBuild?: boolean;
  steps: { script: string; optional?: boolean }[];
  projects: string[];
  jestArgs?: string[];
}
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  brokenFiles: number;
}
export interface StageResult {
  steps: { script: string; status: 'passed' | 'failed' | 'missing' }[];
  jest: null | { status: number; counts: Counts | null };
  skippedReason?: string;
}
export declare const STAGES: Stage[];
export declare const STAGE_NAMES: string[];
export declare function parseArgs(argv: string[]): { stages: Stage[]; jestArgs: string[] };
export declare function jestCommand(stage: Stage, jestArgs: string[], outputFile: string): string[] | null;
export declare function countsFromJest(results: unknown): Counts | null;
export declare function formatDuration(ms: number): string;
export declare function budgetText(stage: Stage): string;
export declare function stagePassed(result: StageResult): boolean;
export declare function stageLine(stage: Stage, result: StageResult, ms: number): string;
export declare function budgetWarning(stage: Stage, ms: number): string | null;
export declare function summaryLine(results: StageResult[]): string;
export declare function failedStagesLine(stages: Stage[], results: StageResult[]): string | null;
export declare function exitCode(results: StageResult[]): number;

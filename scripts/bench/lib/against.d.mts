/** Types of against.mjs (`npm run bench -- --against <git-ref>`). */
export interface SideFigures {
  rounds: number;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  cpuUs: number | null;
  cpuMin: number | null;
  cpuMax: number | null;
  errors: number;
}
export interface Verdict {
  same: boolean;
  pct: number;
  us: number;
}
export declare function migrationDifference(ours: string, theirs: string): string | null;
export declare function prepareAgainst(o: {
  root: string;
  ref: string;
  dir: string;
  log: (message: string) => void;
}): Promise<{ ref: string; sha: string; short: string; dir: string; distDir: string; nodeModules: string; remove: () => void }>;
export declare function median(values: number[]): number;
export declare function sameWithin(ours: number, theirs: number, o?: { percent?: number; floorUs?: number }): Verdict;
export declare function sideFigures(runs: { cpuUsPerRequest: number | null; load: { rps: number; errors: number } }[]): SideFigures;
export declare function formatAgainst(
  sides: { label: string; ref: string; figures: SideFigures }[],
  o: { seconds: number; warmup: number },
): { text: string; verdict: Verdict | null };

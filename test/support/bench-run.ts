import { spawn } from 'node:child_process';
import { REPO_ROOT } from './child-process';
import { ADMIN_URL, REDIS_URL } from './test-env';

/** What a bench run printed, and how it ended. */
export interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `npm run bench -- --smoke --no-build` on this machine's PostgreSQL and
 * Redis with `args` added; resolves when it exits (never rejects on a
 * non-zero exit: the caller checks `code`). Needs the compiled apps.
 */
export function runSmokeBench(args: string[] = []): Promise<BenchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'bench', '--', '--smoke', '--no-build', '--admin-url', ADMIN_URL, '--redis-url', REDIS_URL, ...args], {
      cwd: REPO_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

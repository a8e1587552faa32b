// The README's test command: type check once, build (some tests run the compiled
// apps as child processes), then every Jest tier. Extra arguments go to Jest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (process.versions.node.split('.')[0] !== '24') {
  console.error(`Node.js 24 is required, this is ${process.version}: run through npm so node_modules/.bin/node is used`);
  process.exit(1);
}
run('npm', ['run', '-s', 'typecheck']);
run('npm', ['run', '-s', 'build']);
// Jest's own summary, plus one plain closing line that any CI reader understands.
const dir = mkdtempSync(path.join(tmpdir(), 'shortener-jest-'));
const results = path.join(dir, 'results.json');
// --forceExit: Jest then ends with process.exit once its results are out. Without
// it, one CI run on a fresh clone had every test passed and the results written,
// and Jest's main process never ended: Node's exit-time handle cleanup
// (FreeEnvironment -> CleanupHandles, seen with gdb) spun at 100% CPU on a request
// that never completed. The results are complete by then; this only changes how
// the main process ends.
const jest = spawnSync('npx', ['jest', '--ci', '--forceExit', '--json', `--outputFile=${results}`, ...process.argv.slice(2)], { stdio: 'inherit' });
try {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
} catch {
  console.log('jest: no results were written');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(jest.status ?? 1);

// The README's test command: type check once, build (some tests run the compiled
// apps as child processes), then every Jest tier. Extra arguments go to Jest.
import { spawnSync } from 'node:child_process';

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
run('npx', ['jest', '--ci', ...process.argv.slice(2)]);

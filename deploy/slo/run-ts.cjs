// Runs a TypeScript entry point (`node deploy/slo/run-ts.cjs FILE.ts ARGS...`)
// compiled by the repository's swc options (scripts/swc-options.cjs), the same
// compiler as the build and Jest, so the generators need no build step and
// import each other without file extensions. The entry exports `main(argv)`.
const fs = require('node:fs');
const path = require('node:path');
const { transformSync } = require('@swc/core');
const { swcOptions } = require('../../scripts/swc-options.cjs');

require.extensions['.ts'] = (module, filename) => {
  const options = { ...swcOptions({ withPaths: false }), sourceMaps: 'inline', filename, swcrc: false, configFile: false };
  module._compile(transformSync(fs.readFileSync(filename, 'utf8'), options).code, filename);
};

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node deploy/slo/run-ts.cjs FILE.ts [ARGS...]');
  process.exit(2);
}
Promise.resolve(require(path.resolve(entry)).main(args)).catch((err) => {
  console.error(err);
  process.exit(1);
});

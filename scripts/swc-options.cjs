// One source for how TypeScript becomes JavaScript: the build (scripts/build.mjs)
// and Jest (@swc/jest in jest.config.js) both take their swc options from here,
// and path aliases come from tsconfig.json so they are declared once.
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));

/** Path aliases of tsconfig.json: `{ '@shortener/x': ['libs/x/src'] }`. */
const paths = tsconfig.compilerOptions.paths;

/** swc options for CommonJS output with legacy decorators and decorator metadata (NestJS). */
function swcOptions({ withPaths }) {
  return {
    sourceMaps: true,
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      ...(withPaths ? { baseUrl: root, paths } : {}),
    },
  };
}

module.exports = { root, paths, swcOptions };

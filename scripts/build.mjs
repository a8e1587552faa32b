// Compiles apps/ and libs/ to dist/ with swc (type checking is `npm run typecheck`).
// Output keeps the source layout: apps/api/src/main.ts -> dist/apps/api/src/main.js.
import { createRequire } from 'node:module';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const require = createRequire(import.meta.url);
const swc = require('@swc/core');
const { root, swcOptions } = require('./swc-options.cjs');

const outDir = path.join(root, 'dist');
const sourceDirs = ['apps', 'libs'];

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield full;
  }
}

const started = Date.now();
await rm(outDir, { recursive: true, force: true });
const jobs = [];
for (const dir of sourceDirs) {
  for await (const file of walk(path.join(root, dir))) {
    jobs.push(
      (async () => {
        const rel = path.relative(root, file);
        const target = path.join(outDir, rel.replace(/\.ts$/, '.js'));
        const options = { ...swcOptions({ withPaths: true }), filename: file, sourceFileName: path.relative(path.dirname(target), file) };
        const { code, map } = await swc.transformFile(file, options);
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
        if (map) await writeFile(`${target}.map`, map);
      })(),
    );
  }
}
await Promise.all(jobs);
console.log(`build: ${jobs.length} files -> dist/ in ${Date.now() - started} ms`);

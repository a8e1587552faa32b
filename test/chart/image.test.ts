import { readFileSync } from 'node:fs';
import path from 'node:path';
import { find, helm, render, ROOT } from './support/helm';

// The image cannot be built here (no Docker engine); these checks hold the
// Dockerfile to the layout the chart and the runtime test rely on. Running the
// production build under a read-only root is the image-runtime test's job.

const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\s*\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** The instructions of one stage (from its FROM to the next). */
const stage = (name: string) => {
  const start = instructions.findIndex((l) => l.endsWith(` AS ${name}`));
  const end = instructions.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return instructions.slice(start, end < 0 ? undefined : end);
};
const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('deploy/docker/Dockerfile', () => {
  it('builds every stage from the official Node.js 24 image, named without a registry host', () => {
    expect(instructions[0]).toBe('ARG NODE_IMAGE=node:24-bookworm-slim');
    expect(instructions.filter((l) => l.startsWith('FROM '))).toEqual([
      'FROM ${NODE_IMAGE} AS deps',
      'FROM ${NODE_IMAGE} AS build',
      'FROM ${NODE_IMAGE} AS runtime',
    ]);
  });

  it('installs production dependencies only, from the lockfile, for the runtime', () => {
    expect(stage('deps')).toEqual([
      'FROM ${NODE_IMAGE} AS deps',
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund',
    ]);
  });

  it('compiles with the repository build script', () => {
    expect(stage('build')).toContain('RUN node scripts/build.mjs');
  });

  it('lays out /app as dist, node_modules and package.json, owned by root, run as uid 1000', () => {
    expect(stage('runtime')).toEqual([
      'FROM ${NODE_IMAGE} AS runtime',
      'ENV NODE_ENV=production',
      'WORKDIR /app',
      'COPY --from=deps /app/node_modules ./node_modules',
      'COPY --from=build /src/dist ./dist',
      'COPY package.json ./',
      'USER 1000:1000',
      'EXPOSE 3000 9464 9465',
      'ENTRYPOINT ["node"]',
      'CMD ["--require", "./dist/libs/observability/src/tracing/register.js", "dist/apps/api/src/main.js"]',
    ]);
  });

  it('starts by default what the chart runs for the API', () => {
    const api = find(render(helm(3), { valuesFiles: ['ci/minimal-values.yaml'] }), 'Deployment', 't-shortener-api').spec.template.spec.containers[0];
    const cmd = JSON.parse(instructions.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    const entrypoint = JSON.parse(instructions.find((l) => l.startsWith('ENTRYPOINT '))!.slice(11)) as string[];
    expect([...entrypoint, ...cmd]).toEqual([...api.command, ...api.args]);
  });
});

describe('.dockerignore', () => {
  it('sends only what the Dockerfile copies: an allowlist', () => {
    expect(dockerignore).toEqual([
      '*',
      '!package.json',
      '!package-lock.json',
      '!tsconfig.json',
      '!nest-cli.json',
      '!scripts',
      '!apps',
      '!libs',
      '**/*.spec.ts',
    ]);
    const copied = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    const allowed = new Set(dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1)));
    expect([...new Set(copied)].filter((c) => !allowed.has(c))).toEqual([]);
  });
});

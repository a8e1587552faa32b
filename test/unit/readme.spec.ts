import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema } from '@shortener/config';

describe('README', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

  it('documents every environment variable the apps accept', () => {
    const undocumented = Object.keys(envSchema.shape).filter((name) => !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('has a quick start of exactly two commands', () => {
    const quickStart = readme.split('## Quick start')[1].split('```sh')[1].split('```')[0];
    expect(
      quickStart
        .trim()
        .split('\n')
        .map((l) => l.split('#')[0].trim()),
    ).toEqual(['npm ci && npm run up', 'npm test']);
  });
});

// The Node options of the API and the worker: `api.nodeOptions` and
// `worker.nodeOptions` of charts/shortener/values.yaml, the one place the V8
// heap sizes are written. The chart renders them as NODE_OPTIONS; `npm run up`
// and the bench read them here, so local and measured processes get the heap
// the pods get.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const valuesFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../charts/shortener/values.yaml');

/** The chart's default node options of `component` (`api` or `worker`), as a NODE_OPTIONS string ('' for none). */
export function chartNodeOptions(component) {
  const value = parse(readFileSync(valuesFile, 'utf8'))?.[component]?.nodeOptions;
  if (typeof value !== 'string') throw new Error(`${valuesFile} has no ${component}.nodeOptions string`);
  return value.trim();
}

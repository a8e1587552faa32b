// The bench's baseline: a bare Fastify server answering GET /{code}
// with a 302 from an in-memory Map, nothing else (no hooks, no metrics, no
// logging), so every other row can be read as a fraction of what Fastify
// itself does on this machine under the same load settings.
//
//   node scripts/bench/baseline-server.mjs <codes-file> <port>
// Prints `listening <port>` once ready; stops on SIGTERM.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');

const [codesFile, portArg] = process.argv.slice(2);
const links = new Map();
for (const code of readFileSync(codesFile, 'utf8').split('\n')) {
  if (code) links.set(code, `https://www.example.com/articles/${code}`);
}

const app = Fastify({ logger: false });
app.get('/:code', (request, reply) => {
  const target = links.get(request.params.code);
  if (target === undefined) return reply.code(404).send();
  return reply.code(302).header('location', target).send();
});
await app.listen({ host: '127.0.0.1', port: Number(portArg ?? 0) });
process.stdout.write(`listening ${app.server.address().port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

import { execFile } from 'node:child_process';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { find, helm, K8sObject, render } from './support/helm';

// The `helm test` Pod runs a script with the image's Node.js. Without a
// cluster, the script itself is run here against a stand-in for the API that
// records what it receives, so the requests and the redirect check are proven.

const pod: K8sObject = find(render(helm(3), { valuesFiles: ['ci/minimal-values.yaml'] }), 'Pod', 't-shortener-test');
const container = pod.spec.containers[0];
const podEnv = Object.fromEntries(
  container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]),
);

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

/** Starts a stand-in API on a loopback port; `answer` decides each response. */
async function standIn(answer: (req: Seen, res: ServerResponse) => void): Promise<{ server: Server; base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** Runs the Pod's command with its environment, the API's address replaced by the stand-in's. */
function runPod(base: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const [, flag] = container.command as string[];
  const env = { PATH: process.env.PATH ?? '', ...podEnv, BASE_URL: base, BOOTSTRAP_ADMIN_KEY: 'sk_testadmin01_0123456789abcdefghijABCDEFGHIJ0123' };
  return new Promise((resolve) => {
    execFile(process.execPath, [flag, container.args[0]], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('the helm test Pod', () => {
  it('is a test hook, run with node from the app image, against the public Service', () => {
    expect(pod.metadata.annotations).toEqual({ 'helm.sh/hook': 'test', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' });
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(container.image).toBe('shortener:0.1.0');
    expect(container.command).toEqual(['node', '-e']);
    expect(podEnv).toEqual({ BASE_URL: 'http://t-shortener-api:80', TARGET_URL: 'https://example.com/helm-test' });
    expect(container.env[2]).toEqual({ name: 'BOOTSTRAP_ADMIN_KEY', valueFrom: { secretKeyRef: { name: 't-shortener', key: 'BOOTSTRAP_ADMIN_KEY' } } });
  });

  it('reads the key from secrets.refs when the bootstrap key lives in another Secret', () => {
    const objects = render(helm(3), {
      valuesFiles: ['ci/minimal-values.yaml'],
      set: ['secrets.bootstrapAdminKey=', 'secrets.refs.BOOTSTRAP_ADMIN_KEY.name=admin-key', 'secrets.refs.BOOTSTRAP_ADMIN_KEY.key=key'],
    });
    const env = find(objects, 'Pod', 't-shortener-test').spec.containers[0].env;
    expect(env[2]).toEqual({ name: 'BOOTSTRAP_ADMIN_KEY', valueFrom: { secretKeyRef: { name: 'admin-key', key: 'key' } } });
  });

  it('creates a link with the bootstrap admin key and passes on a 302 to the target', async () => {
    const api = await standIn((req, res) => {
      if (req.method === 'POST') {
        json(res, 201, { code: 'Ab3dE7x', shortUrl: 'https://sho.rt/Ab3dE7x' });
        return;
      }
      res.writeHead(302, { location: 'https://example.com/helm-test', 'cache-control': 'private, no-store' });
      res.end();
    });
    try {
      const run = await runPod(api.base);
      expect(run).toEqual({ code: 0, stdout: 'OK /Ab3dE7x -> 302 https://example.com/helm-test\n', stderr: '' });
      expect(api.seen).toEqual([
        {
          method: 'POST',
          url: '/api/v1/links',
          authorization: 'Bearer sk_testadmin01_0123456789abcdefghijABCDEFGHIJ0123',
          contentType: 'application/json',
          body: '{"url":"https://example.com/helm-test"}',
        },
        { method: 'GET', url: '/Ab3dE7x', authorization: undefined, contentType: undefined, body: '' },
      ]);
    } finally {
      api.server.close();
    }
  });

  it('fails when the redirect is not a 302 to the target', async () => {
    const api = await standIn((req, res) => {
      if (req.method === 'POST') {
        json(res, 201, { code: 'Ab3dE7x' });
        return;
      }
      res.writeHead(301, { location: 'https://example.com/elsewhere' });
      res.end();
    });
    try {
      const run = await runPod(api.base);
      expect([run.code, run.stderr]).toEqual([1, 'FAIL GET /Ab3dE7x: 301 Location https://example.com/elsewhere\n']);
    } finally {
      api.server.close();
    }
  });

  it('fails when the link cannot be created', async () => {
    const api = await standIn((_req, res) => {
      json(res, 401, { type: 'https://sho.rt/problems/unauthorized', status: 401 });
    });
    try {
      const run = await runPod(api.base);
      expect([run.code, run.stderr]).toEqual([1, 'FAIL POST /api/v1/links: 401 {"type":"https://sho.rt/problems/unauthorized","status":401}\n']);
      expect(api.seen).toHaveLength(1);
    } finally {
      api.server.close();
    }
  });
});
